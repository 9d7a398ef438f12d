"""What LineClient sends to LINE and what it hands back."""

from __future__ import annotations

import datetime as dt
import io
import uuid

import pytest
from requests.adapters import HTTPAdapter

from lineapi import LineAPIError, LineClient
from lineapi.tests.fakeline import TOKEN, FakeLine, Reply

USER = "U" + "1" * 32
TEXT = [{"type": "text", "text": "hello"}]
RETRYABLE_SENDS = {
    "push": "/v2/bot/message/push",
    "multicast": "/v2/bot/message/multicast",
    "broadcast": "/v2/bot/message/broadcast",
    "narrowcast": "/v2/bot/message/narrowcast",
}


def send(client: LineClient, kind: str, key: str) -> object:
    if kind == "push":
        return client.push(USER, TEXT, retry_key=key)
    if kind == "multicast":
        return client.multicast([USER], TEXT, retry_key=key)
    if kind == "broadcast":
        return client.broadcast(TEXT, retry_key=key)
    return client.narrowcast(TEXT, retry_key=key, recipient={"type": "audience", "audienceGroupId": 1})


@pytest.mark.parametrize("kind", sorted(RETRYABLE_SENDS))
def test_retryable_sends_carry_the_retry_key(client: LineClient, line: FakeLine, kind: str) -> None:
    path = RETRYABLE_SENDS[kind]
    line.on("POST", path, Reply(202 if kind == "narrowcast" else 200, {}))
    key = str(uuid.uuid4())
    result = send(client, kind, key)
    (seen,) = line.requests_to(path)
    assert seen.headers["x-line-retry-key"] == key
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"
    assert seen.json()["messages"] == TEXT
    assert getattr(result, "already_accepted") is False


def test_a_reply_never_carries_a_retry_key(client: LineClient, line: FakeLine) -> None:
    line.on("POST", "/v2/bot/message/reply", Reply(200, {"sentMessages": [{"id": "1", "quoteToken": "qt"}]}))
    result = client.reply("reply-token", TEXT, notification_disabled=True)
    (seen,) = line.requests_to("/v2/bot/message/reply")
    assert "x-line-retry-key" not in seen.headers
    assert seen.json() == {"replyToken": "reply-token", "messages": TEXT, "notificationDisabled": True}
    assert result.sent_messages[0].quote_token == "qt"
    assert result.accepted_request_id == result.request_id


def test_validate_never_carries_a_retry_key(client: LineClient, line: FakeLine) -> None:
    line.on("POST", "/v2/bot/message/validate/push", Reply(200, {}))
    client.validate("push", TEXT)
    (seen,) = line.requests_to("/v2/bot/message/validate/push")
    assert "x-line-retry-key" not in seen.headers
    with pytest.raises(ValueError):
        client.validate("everyone", TEXT)  # type: ignore[arg-type]


@pytest.mark.parametrize("key", [None, "", "not-a-uuid", "12345"])
def test_a_send_without_a_valid_retry_key_is_refused_before_any_request(
    client: LineClient, line: FakeLine, key: object
) -> None:
    with pytest.raises(ValueError):
        client.push(USER, TEXT, retry_key=key)  # type: ignore[arg-type]
    assert line.seen == []


def test_push_options_reach_the_body(client: LineClient, line: FakeLine) -> None:
    line.on("POST", "/v2/bot/message/push", Reply(200, {"sentMessages": [{"id": "9"}]}))
    key = uuid.uuid4()
    result = client.push(
        USER, TEXT, retry_key=key, notification_disabled=True, custom_aggregation_units=["spring_sale"]
    )
    (seen,) = line.requests_to("/v2/bot/message/push")
    assert seen.json() == {
        "to": USER,
        "messages": TEXT,
        "notificationDisabled": True,
        "customAggregationUnits": ["spring_sale"],
    }
    assert seen.headers["x-line-retry-key"] == str(key)
    assert result.request_id == result.accepted_request_id == seen_request_id(line)
    assert [m.id for m in result.sent_messages] == ["9"]


def seen_request_id(line: FakeLine) -> str:
    return f"req-{len(line.seen):04d}"


def test_narrowcast_progress_is_read_back(client: LineClient, line: FakeLine) -> None:
    line.on(
        "GET",
        "/v2/bot/message/progress/narrowcast",
        Reply(200, {"phase": "succeeded", "successCount": 10, "failureCount": 0, "targetCount": 10}),
    )
    progress = client.narrowcast_progress("req-1")
    assert (progress.phase, progress.success_count, progress.target_count) == ("succeeded", 10, 10)
    assert line.seen[0].query == {"requestId": ["req-1"]}


def test_content_comes_from_the_data_host(client: LineClient, line: FakeLine, data_line: FakeLine) -> None:
    data_line.on("GET", "/v2/bot/message/m1/content", Reply(200, b"\x89PNGdata", headers={"Content-Type": "image/png"}))
    content = client.get_content("m1")
    assert (content.status, content.data, content.content_type, content.ready) == (
        200,
        b"\x89PNGdata",
        "image/png",
        True,
    )
    assert line.seen == []


def test_content_not_ready_yet_is_a_202(client: LineClient, data_line: FakeLine) -> None:
    data_line.on("GET", "/v2/bot/message/m2/content", Reply(202, {}))
    content = client.get_content("m2")
    assert (content.status, content.ready, content.data) == (202, False, b"")


def test_content_can_stream_into_a_file(client: LineClient, data_line: FakeLine) -> None:
    blob = bytes(range(256)) * 1000
    data_line.on("GET", "/v2/bot/message/m3/content", Reply(200, blob, headers={"Content-Type": "video/mp4"}))
    sink = io.BytesIO()
    content = client.get_content("m3", stream_to=sink)
    assert sink.getvalue() == blob
    assert (content.size, content.data, content.content_type) == (len(blob), b"", "video/mp4")


def test_unsent_content_is_not_found(client: LineClient, data_line: FakeLine) -> None:
    data_line.on("GET", "/v2/bot/message/m4/content", Reply(410, {"message": "gone"}))
    with pytest.raises(LineAPIError) as info:
        client.get_content("m4")
    assert info.value.kind == "not_found"


def test_rich_menu_image_upload_goes_to_the_data_host(client: LineClient, line: FakeLine, data_line: FakeLine) -> None:
    data_line.on("POST", "/v2/bot/richmenu/rm-1/content", Reply(200, {}))
    client.upload_rich_menu_image("rm-1", b"\xff\xd8\xffjpeg", "image/jpeg")
    (seen,) = data_line.seen
    assert (seen.body, seen.headers["content-type"]) == (b"\xff\xd8\xffjpeg", "image/jpeg")
    assert line.seen == []
    with pytest.raises(ValueError):
        client.upload_rich_menu_image("rm-1", b"GIF89a", "image/gif")


def test_rich_menu_calls(client: LineClient, line: FakeLine) -> None:
    line.on("POST", "/v2/bot/richmenu", Reply(200, {"richMenuId": "rm-9"}))
    line.on("GET", "/v2/bot/richmenu/list", Reply(200, {"richmenus": [{"richMenuId": "rm-9"}]}))
    line.on("GET", "/v2/bot/user/all/richmenu", Reply(404, {"message": "no default rich menu"}))
    line.on("GET", f"/v2/bot/user/{USER}/richmenu", Reply(200, {"richMenuId": "rm-9"}))
    line.on("POST", "/v2/bot/richmenu/bulk/link", Reply(202, {}))
    line.on("GET", "/v2/bot/richmenu/alias/list", Reply(200, {"aliases": [{"richMenuAliasId": "a"}]}))
    line.on("DELETE", "/v2/bot/richmenu/rm-9", Reply(200, {}))
    assert client.create_rich_menu({"name": "x"}) == "rm-9"
    assert client.list_rich_menus() == [{"richMenuId": "rm-9"}]
    assert client.get_default_rich_menu_id() is None
    assert client.get_user_rich_menu_id(USER) == "rm-9"
    client.bulk_link_rich_menu("rm-9", [USER])
    assert client.list_rich_menu_aliases() == [{"richMenuAliasId": "a"}]
    client.delete_rich_menu("rm-9")
    assert line.requests_to("/v2/bot/richmenu/bulk/link")[0].json() == {"richMenuId": "rm-9", "userIds": [USER]}


def test_ids_cannot_escape_their_path_segment(client: LineClient, line: FakeLine) -> None:
    client_error = None
    try:
        client.get_profile("../../v2/bot/info?x=1")
    except LineAPIError as error:
        client_error = error
    assert client_error is not None and client_error.kind == "not_found"
    assert line.seen[0].path.startswith("/v2/bot/profile/..%2F..%2F")
    with pytest.raises(ValueError):
        client.get_profile("")


def test_profile_and_bot_info_are_typed(client: LineClient, line: FakeLine) -> None:
    line.on("GET", f"/v2/bot/profile/{USER}", Reply(200, {"userId": USER, "displayName": "Ann", "language": "ja"}))
    line.on(
        "GET",
        "/v2/bot/info",
        Reply(200, {"userId": "Ubot", "basicId": "@123abc", "displayName": "Shop", "chatMode": "bot"}),
    )
    profile = client.get_profile(USER)
    assert (profile.user_id, profile.display_name, profile.language, profile.picture_url) == (USER, "Ann", "ja", None)
    assert client.get_bot_info().basic_id == "@123abc"


def test_counts_and_quota(client: LineClient, line: FakeLine) -> None:
    line.on("GET", "/v2/bot/message/quota", Reply(200, {"type": "limited", "value": 200}))
    line.on("GET", "/v2/bot/message/quota/consumption", Reply(200, {"totalUsage": 42}))
    line.on("GET", "/v2/bot/message/delivery/push", Reply(200, {"status": "ready", "success": 3}))
    assert client.get_quota().value == 200
    assert client.get_quota_consumption() == 42
    count = client.get_delivery_count("push", dt.date(2025, 1, 31))
    assert (count.status, count.success) == ("ready", 3)
    assert line.requests_to("/v2/bot/message/delivery/push")[0].query == {"date": ["20250131"]}
    with pytest.raises(ValueError):
        client.get_delivery_count("narrowcast", "20250131")  # type: ignore[arg-type]


def test_insights_and_link_token_and_mark_as_read(client: LineClient, line: FakeLine) -> None:
    line.on("GET", "/v2/bot/insight/message/event/aggregation", Reply(200, {"overview": {}}))
    line.on("POST", f"/v2/bot/user/{USER}/linkToken", Reply(200, {"linkToken": "LT"}))
    line.on("POST", "/v2/bot/chat/markAsRead", Reply(200, {}))
    client.get_statistics_per_unit("promo_a", date_from="20250301", date_to=dt.date(2025, 3, 31))
    assert line.seen[0].query == {"customAggregationUnit": ["promo_a"], "from": ["20250301"], "to": ["20250331"]}
    assert client.issue_link_token(USER) == "LT"
    client.mark_as_read("mark-token")
    assert line.requests_to("/v2/bot/chat/markAsRead")[0].json() == {"markAsReadToken": "mark-token"}


def test_the_session_never_retries_on_its_own() -> None:
    client = LineClient(access_token=TOKEN)
    for prefix in ("https://api.line.me", "https://api-data.line.me"):
        adapter = client.session.get_adapter(prefix)
        assert isinstance(adapter, HTTPAdapter)
        retries = adapter.max_retries
        assert retries.total == 0 and retries.read is False
    client.close()


def test_an_empty_token_is_refused() -> None:
    with pytest.raises(ValueError):
        LineClient(access_token="")


def test_the_client_is_a_context_manager_that_closes_its_own_session(line: FakeLine) -> None:
    line.on("GET", "/v2/bot/message/quota", Reply(200, {"type": "none"}))
    with LineClient(access_token=TOKEN, api_base=line.base_url) as c:
        assert c.get_quota().type == "none"
    assert "LineClient" in repr(c) and TOKEN not in repr(c)


def test_proxy_variables_still_apply_though_read_once_per_host(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "api-data.line.me")
    session = LineClient(access_token=TOKEN).session

    def proxies(url):
        return session.merge_environment_settings(url, {}, None, None, None)["proxies"]

    assert proxies("https://api.line.me/v2/bot/info")["https"] == "http://proxy.example:3128"
    assert proxies("https://api.line.me/v2/bot/message/push")["https"] == "http://proxy.example:3128"
    assert "https" not in proxies("https://api-data.line.me/v2/bot/message/1/content")
