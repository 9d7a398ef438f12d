"""Issuing, verifying and revoking channel access tokens."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs

import pytest

from lineapi import LineAPIError
from lineapi.tests.fakeline import FakeLine, Reply
from lineapi.tokens import (
    issue_short_lived_token,
    issue_stateless_token,
    revoke_short_lived_token,
    verify_token,
)

SECRET = "channel-secret-0123456789abcdef"


def form(line: FakeLine, path: str) -> dict[str, list[str]]:
    return parse_qs(line.requests_to(path)[0].body.decode())


def test_a_short_lived_token_is_issued_from_id_and_secret(line: FakeLine) -> None:
    line.on(
        "POST",
        "/v2/oauth/accessToken",
        Reply(200, {"access_token": "AT-long-token-value", "expires_in": 2592000, "token_type": "Bearer"}),
    )
    token = issue_short_lived_token(api_base=line.base_url, channel_id="1234", channel_secret=SECRET)
    assert (token.access_token, token.expires_in, token.token_type) == ("AT-long-token-value", 2592000, "Bearer")
    assert "AT-long-token-value" not in repr(token)
    assert form(line, "/v2/oauth/accessToken") == {
        "grant_type": ["client_credentials"],
        "client_id": ["1234"],
        "client_secret": [SECRET],
    }
    assert line.seen[0].headers["content-type"] == "application/x-www-form-urlencoded"


def test_a_stateless_token_is_issued(line: FakeLine) -> None:
    line.on("POST", "/oauth2/v3/token", Reply(200, {"access_token": "ST", "expires_in": 899, "token_type": "Bearer"}))
    token = issue_stateless_token(api_base=line.base_url, channel_id="1234", channel_secret=SECRET)
    assert token.expires_in == 899


def test_bad_credentials_are_an_auth_error_without_the_secret(line: FakeLine, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    line.on(
        "POST",
        "/v2/oauth/accessToken",
        Reply(400, {"error": "invalid_client", "error_description": "invalid client_secret"}),
    )
    with pytest.raises(LineAPIError) as info:
        issue_short_lived_token(api_base=line.base_url, channel_id="1234", channel_secret=SECRET)
    error = info.value
    assert (error.status, error.kind, error.retryable) == (400, "auth", False)
    assert error.message == "invalid_client: invalid client_secret"
    assert SECRET not in str(error) + repr(error) + caplog.text


def test_verify_reads_channel_and_lifetime_and_keeps_the_token_out_of_logs(
    line: FakeLine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # line-bot-sdk's Configuration sets urllib3's logger to WARNING for the whole process when any test made one.
    caplog.set_level(logging.DEBUG, logger="urllib3")
    token = "token-under-test-0123456789"
    line.on("GET", "/oauth2/v2.1/verify", Reply(200, {"client_id": "1234", "expires_in": 100, "scope": "P CM"}))
    info = verify_token(api_base=line.base_url, access_token=token)
    assert (info.client_id, info.expires_in, info.scope) == ("1234", 100, "P CM")
    assert line.seen[0].query == {"access_token": [token]}
    assert token not in caplog.text
    assert "/oauth2/v2.1/verify?access_token=" in caplog.text  # urllib3's request line, value redacted


def test_verify_of_an_expired_token_is_a_client_error(line: FakeLine) -> None:
    line.on(
        "GET",
        "/oauth2/v2.1/verify",
        Reply(400, {"error": "invalid_request", "error_description": "access token expired"}),
    )
    with pytest.raises(LineAPIError) as info:
        verify_token(api_base=line.base_url, access_token="expired-token-123")
    assert (info.value.kind, info.value.message) == ("client", "invalid_request: access token expired")


def test_revoke_posts_the_token(line: FakeLine) -> None:
    line.on("POST", "/v2/oauth/revoke", Reply(200, b"", headers={"Content-Type": "text/plain"}))
    revoke_short_lived_token(api_base=line.base_url, access_token="old-token-0123456789")
    assert form(line, "/v2/oauth/revoke") == {"access_token": ["old-token-0123456789"]}


def test_a_token_response_without_a_token_is_a_server_error(line: FakeLine) -> None:
    line.on("POST", "/oauth2/v3/token", Reply(200, {"expires_in": 899}))
    with pytest.raises(LineAPIError) as info:
        issue_stateless_token(api_base=line.base_url, channel_id="1", channel_secret=SECRET)
    assert (info.value.kind, info.value.retryable) == ("server", True)
