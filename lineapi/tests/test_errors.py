"""Every way a LINE call can fail becomes one LineAPIError that says whether to retry."""

from __future__ import annotations

import logging
import pickle
import socket
import time
import uuid

import pytest

from lineapi import LineAPIError, LineClient
from lineapi.errors import QUOTA_MESSAGE, classify
from lineapi.tests.fakeline import TOKEN, FakeLine, Reply

PUSH = "/v2/bot/message/push"
USER = "U" + "0" * 32
TEXT = [{"type": "text", "text": "hello"}]


def push(client: LineClient) -> None:
    client.push(USER, TEXT, retry_key=str(uuid.uuid4()))


def raised(client: LineClient) -> LineAPIError:
    with pytest.raises(LineAPIError) as info:
        push(client)
    return info.value


def test_a_monthly_quota_429_is_not_retryable(client: LineClient, line: FakeLine) -> None:
    line.on("POST", PUSH, Reply(429, {"message": QUOTA_MESSAGE}))
    error = raised(client)
    assert (error.status, error.kind, error.retryable) == (429, "quota", False)
    assert error.message == QUOTA_MESSAGE


def test_a_rate_limit_429_is_retryable(client: LineClient, line: FakeLine) -> None:
    line.on("POST", PUSH, Reply(429, {"message": "The API rate limit has been exceeded. Try again later."}))
    error = raised(client)
    assert (error.status, error.kind, error.retryable) == (429, "rate_limit", True)


def test_a_server_error_is_retryable_and_keeps_the_request_id(client: LineClient, line: FakeLine) -> None:
    line.on("POST", PUSH, Reply(500, {"message": "An internal server error occurred"}))
    error = raised(client)
    assert (error.status, error.kind, error.retryable) == (500, "server", True)
    assert error.request_id and error.request_id.startswith("req-")


def test_a_bad_request_carries_lines_details(client: LineClient, line: FakeLine) -> None:
    details = [{"message": "Length must be between 0 and 5000", "property": "messages[0].text"}]
    line.on("POST", PUSH, Reply(400, {"message": "The request body has 1 error(s)", "details": details}))
    error = raised(client)
    assert (error.status, error.kind, error.retryable) == (400, "client", False)
    assert error.details == details
    assert "messages[0].text: Length must be between 0 and 5000" in str(error)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (401, "auth"),
        (403, "auth"),
        (404, "not_found"),
        (410, "not_found"),
        (413, "client"),
        (415, "client"),
        (502, "server"),
        (503, "server"),
    ],
)
def test_statuses_map_to_kinds(client: LineClient, line: FakeLine, status: int, kind: str) -> None:
    line.on("GET", "/v2/bot/info", Reply(status, {"message": "nope"}))
    with pytest.raises(LineAPIError) as info:
        client.get_bot_info()
    assert (info.value.status, info.value.kind) == (status, kind)
    assert info.value.retryable is (kind == "server")


def test_a_409_on_a_retry_key_is_success_with_the_original_request_id(client: LineClient, line: FakeLine) -> None:
    line.on(
        "POST",
        PUSH,
        Reply(
            409,
            {
                "message": "The retry key is already accepted",
                "sentMessages": [{"id": "461230966842064897", "quoteToken": "q"}],
            },
            headers={"x-line-accepted-request-id": "original-123"},
        ),
    )
    result = client.push(USER, TEXT, retry_key=str(uuid.uuid4()))
    assert result.already_accepted is True
    assert result.accepted_request_id == "original-123"
    assert result.request_id != "original-123"
    assert [m.id for m in result.sent_messages] == ["461230966842064897"]


def test_a_409_without_an_accepted_request_id_is_an_error(client: LineClient, line: FakeLine) -> None:
    line.on("POST", PUSH, Reply(409, {"message": "Conflict"}))
    error = raised(client)
    assert (error.status, error.kind, error.retryable) == (409, "conflict", False)


def test_a_409_elsewhere_is_a_conflict_error(client: LineClient, line: FakeLine) -> None:
    line.on(
        "POST",
        "/v2/bot/richmenu/alias",
        Reply(409, {"message": "conflict"}, headers={"x-line-accepted-request-id": "x"}),
    )
    with pytest.raises(LineAPIError) as info:
        client.create_rich_menu_alias("menu-a", "richmenu-1")
    assert info.value.kind == "conflict"


def test_a_slow_server_times_out_within_the_read_timeout(line: FakeLine) -> None:
    line.on("POST", PUSH, Reply(200, {}, delay=3.0))
    client = LineClient(access_token=TOKEN, api_base=line.base_url, timeout=(1.0, 0.5))
    started = time.monotonic()
    error = raised(client)
    elapsed = time.monotonic() - started
    assert (error.status, error.kind, error.retryable) == (None, "timeout", True)
    assert elapsed < 1.5, f"took {elapsed:.2f}s for a 0.5s read timeout"
    assert "0.5s" in error.message


def test_a_dropped_connection_is_a_retryable_connection_error(client: LineClient, line: FakeLine) -> None:
    line.on("POST", PUSH, Reply(drop=True))
    error = raised(client)
    assert (error.status, error.kind, error.retryable) == (None, "connection", True)


def test_a_refused_connection_is_a_retryable_connection_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = LineClient(access_token=TOKEN, api_base=f"http://127.0.0.1:{port}")
    error = raised(client)
    assert (error.kind, error.retryable) == ("connection", True)
    assert "ConnectionRefused" in error.message


def test_a_success_with_a_broken_body_is_a_retryable_server_error(client: LineClient, line: FakeLine) -> None:
    line.on("GET", "/v2/bot/info", Reply(200, b"<html>oops", headers={"Content-Type": "text/html"}))
    with pytest.raises(LineAPIError) as info:
        client.get_bot_info()
    assert (info.value.status, info.value.kind, info.value.retryable) == (200, "server", True)


def test_no_token_in_errors_or_logs(client: LineClient, line: FakeLine, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    line.on("POST", PUSH, Reply(400, {"message": "bad", "details": [{"message": "m", "property": "to"}]}))
    error = raised(client)
    line.on("POST", PUSH, Reply(drop=True))
    dropped = raised(client)
    for text in (str(error), repr(error), str(dropped), repr(dropped), repr(client), caplog.text):
        assert TOKEN not in text
        assert "Bearer" not in text
    assert "POST /v2/bot/message/push -> 400 request_id=req-" in caplog.text


def test_the_error_survives_pickling_for_celery(client: LineClient, line: FakeLine) -> None:
    line.on("POST", PUSH, Reply(429, {"message": QUOTA_MESSAGE}))
    error = raised(client)
    copy = pickle.loads(pickle.dumps(error))
    assert copy.to_dict() == error.to_dict()
    assert str(copy) == str(error)


def test_classify_without_a_server() -> None:
    assert classify(429, "You have reached your monthly limit.") == ("quota", False)
    assert classify(429, "Too many requests") == ("rate_limit", True)
    assert classify(None) == ("connection", True)
    assert classify(400) == ("client", False)


def test_an_answer_missing_a_field_is_a_server_error_not_a_key_error(client: LineClient, line: FakeLine) -> None:
    line.on("POST", "/v2/bot/user/" + USER + "/linkToken", Reply(200, {"unexpected": True}))
    line.on("GET", "/v2/bot/message/quota", Reply(200, ["not", "an", "object"]))
    with pytest.raises(LineAPIError) as info:
        client.issue_link_token(USER)
    assert (info.value.kind, info.value.retryable, info.value.status) == ("server", True, 200)
    assert "linkToken" in info.value.message
    with pytest.raises(LineAPIError) as info:
        client.get_quota()
    assert info.value.kind == "server"


def test_a_retry_after_header_is_kept_for_the_backoff(client: LineClient, line: FakeLine) -> None:
    line.on("POST", PUSH, Reply(429, {"message": "Too many requests"}, headers={"Retry-After": "7"}))
    error = raised(client)
    assert (error.kind, error.retry_after) == ("rate_limit", 7.0)
