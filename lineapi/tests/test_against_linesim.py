"""LineClient against linesim, a real LINE stand-in process: retries, faults and errors end to end.

Needs the ``linesim_server`` fixture from the ``linesim.testing`` plugin (the root conftest loads
it; or run ``pytest lineapi/tests -p linesim.testing``).
"""

from __future__ import annotations

import io
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from PIL import Image

from lineapi import LineAPIError, LineClient, verify
from lineapi.limits import check_messages
from lineapi.tests.fakeline import FakeLine, Reply
from lineapi.tokens import issue_short_lived_token, revoke_short_lived_token, verify_token

TEXT = [{"type": "text", "text": "Hello from lineapi"}]


@dataclass
class Channel:
    sim: Any
    channel_id: str
    secret: str
    token: str
    user_id: str

    def client(self, **kwargs: Any) -> LineClient:
        kwargs.setdefault("timeout", (2.0, 5.0))
        return LineClient(
            access_token=self.token, api_base=self.sim.base_url, data_api_base=self.sim.base_url, **kwargs
        )

    def sends(self) -> list[dict[str, Any]]:
        return list(self.sim.ledger(channelId=self.channel_id))


@pytest.fixture
def channel(request: pytest.FixtureRequest) -> Iterator[Channel]:
    try:
        sim = request.getfixturevalue("linesim_server")
    except pytest.FixtureLookupError:
        pytest.skip("the linesim.testing plugin is not loaded (run with -p linesim.testing)")
    sim.reset()
    channel_id = str(1_600_000_000 + secrets.randbelow(99_999_999))
    secret, token = secrets.token_hex(16), "lineapi-test-" + secrets.token_urlsafe(24)
    sim.register_channel(channel_id, secret, token)
    user = sim.add_user(channel_id, "Lineapi Tester")
    sim.act(channel_id, user["userId"], "follow")
    yield Channel(sim, channel_id, secret, token, user["userId"])


def test_a_retry_after_a_dropped_response_delivers_once(channel: Channel) -> None:
    client = channel.client()
    key = str(uuid.uuid4())
    channel.sim.fault("drop", "push", count=1)
    with pytest.raises(LineAPIError) as info:
        client.push(channel.user_id, TEXT, retry_key=key)
    assert (info.value.kind, info.value.retryable) == ("connection", True)

    result = client.push(channel.user_id, TEXT, retry_key=key)  # the caller's retry, same key

    assert result.already_accepted is True
    sends = channel.sends()
    assert len(sends) == 1
    assert sends[0]["retryKey"] == key
    assert sends[0]["to"] == [channel.user_id]
    assert result.accepted_request_id == sends[0]["requestId"]
    assert [m.id for m in result.sent_messages] == [m["id"] for m in sends[0]["sentMessages"]]


def test_a_first_send_is_not_already_accepted(channel: Channel) -> None:
    result = channel.client().multicast([channel.user_id], TEXT, retry_key=str(uuid.uuid4()))
    assert result.already_accepted is False
    assert result.accepted_request_id == result.request_id == channel.sends()[0]["requestId"]


@pytest.mark.parametrize(
    ("fault", "status", "kind", "retryable"),
    [
        ("429", 429, "rate_limit", True),
        ("429-quota", 429, "quota", False),
        ("500", 500, "server", True),
        ("503", 503, "server", True),
    ],
)
def test_faults_are_classified(channel: Channel, fault: str, status: int, kind: str, retryable: bool) -> None:
    channel.sim.fault(fault, "push", count=1)
    with pytest.raises(LineAPIError) as info:
        channel.client().push(channel.user_id, TEXT, retry_key=str(uuid.uuid4()))
    error = info.value
    assert (error.status, error.kind, error.retryable) == (status, kind, retryable)
    assert error.request_id
    assert channel.sends() == []


def test_a_real_monthly_quota_is_told_from_a_rate_limit(channel: Channel) -> None:
    channel.sim.config(quota=1, channelId=channel.channel_id)
    client = channel.client()
    client.push(channel.user_id, TEXT, retry_key=str(uuid.uuid4()))
    with pytest.raises(LineAPIError) as info:
        client.push(channel.user_id, TEXT, retry_key=str(uuid.uuid4()))
    assert (info.value.status, info.value.kind, info.value.retryable) == (429, "quota", False)


def test_a_real_rate_limit_is_retryable(channel: Channel) -> None:
    client = channel.client()
    key = str(uuid.uuid4())
    for _ in range(60):  # LINE allows 60 broadcasts an hour
        client.broadcast(TEXT, retry_key=str(uuid.uuid4()))
    with pytest.raises(LineAPIError) as info:
        client.broadcast(TEXT, retry_key=key)
    assert (info.value.status, info.value.kind, info.value.retryable) == (429, "rate_limit", True)


def test_a_slow_line_is_a_timeout_within_the_budget(channel: Channel) -> None:
    channel.sim.fault("latency", "push", count=1, latencyMs=3000)
    client = channel.client(timeout=(2.0, 0.5))
    started = time.monotonic()
    with pytest.raises(LineAPIError) as info:
        client.push(channel.user_id, TEXT, retry_key=str(uuid.uuid4()))
    elapsed = time.monotonic() - started
    assert (info.value.kind, info.value.retryable, info.value.status) == ("timeout", True, None)
    assert elapsed < 1.5


def test_latency_within_the_timeout_is_fine(channel: Channel) -> None:
    channel.sim.fault("latency", "push", count=1, latencyMs=300)
    result = channel.client(timeout=(2.0, 2.0)).push(channel.user_id, TEXT, retry_key=str(uuid.uuid4()))
    assert result.already_accepted is False


def test_a_bad_message_is_a_400_with_details(channel: Channel) -> None:
    bad = [{"type": "text", "text": "x" * 5001}]
    with pytest.raises(LineAPIError) as info:
        channel.client().push(channel.user_id, bad, retry_key=str(uuid.uuid4()))
    error = info.value
    assert (error.status, error.kind, error.retryable) == (400, "client", False)
    assert any(d["property"] == "messages[0].text" for d in error.details)
    # ...and lineapi.limits catches the same problem at the same path before sending.
    assert [e.path for e in check_messages(bad)] == ["messages[0].text"]


def test_validate_reports_the_same_details(channel: Channel) -> None:
    client = channel.client()
    client.validate("push", TEXT)
    with pytest.raises(LineAPIError) as info:
        client.validate(
            "push",
            [
                {
                    "type": "template",
                    "altText": "a",
                    "template": {
                        "type": "confirm",
                        "text": "?",
                        "actions": [{"type": "message", "label": "x", "text": "y"}],
                    },
                }
            ],
        )
    assert info.value.status == 400 and info.value.details


def test_a_wrong_token_is_an_auth_error(channel: Channel) -> None:
    client = LineClient(access_token="not-the-token-at-all", api_base=channel.sim.base_url)
    with pytest.raises(LineAPIError) as info:
        client.get_bot_info()
    assert (info.value.status, info.value.kind) == (401, "auth")
    assert "not-the-token-at-all" not in str(info.value)


def test_profile_and_unknown_profile(channel: Channel) -> None:
    client = channel.client()
    assert client.get_profile(channel.user_id).display_name == "Lineapi Tester"
    with pytest.raises(LineAPIError) as info:
        client.get_profile("U" + "f" * 32)
    assert info.value.kind == "not_found"


def test_content_a_user_sent_can_be_downloaded(channel: Channel) -> None:
    answer = channel.sim.act(channel.channel_id, channel.user_id, "image")
    message_id = answer["event"]["message"]["id"]
    content = channel.client().get_content(message_id)
    assert content.ready and content.data.startswith(b"\x89PNG")
    assert (content.content_type or "").startswith("image/png")


def test_a_rich_menu_round_trip(channel: Channel) -> None:
    client = channel.client()
    menu = {
        "size": {"width": 2500, "height": 843},
        "selected": False,
        "name": "Main",
        "chatBarText": "Menu",
        "areas": [
            {
                "bounds": {"x": 0, "y": 0, "width": 2500, "height": 843},
                "action": {"type": "postback", "data": "menu=main"},
            }
        ],
    }
    client.validate_rich_menu(menu)
    menu_id = client.create_rich_menu(menu)
    buffer = io.BytesIO()
    Image.new("RGB", (2500, 843), (0, 185, 0)).save(buffer, format="PNG")
    client.upload_rich_menu_image(menu_id, buffer.getvalue(), "image/png")
    assert client.download_rich_menu_image(menu_id).data == buffer.getvalue()
    client.create_rich_menu_alias("main-menu", menu_id)
    assert client.get_rich_menu_alias("main-menu")["richMenuId"] == menu_id
    client.link_rich_menu_to_user(channel.user_id, menu_id)
    assert client.get_user_rich_menu_id(channel.user_id) == menu_id
    assert client.get_default_rich_menu_id() is None
    client.set_default_rich_menu(menu_id)
    assert client.get_default_rich_menu_id() == menu_id
    client.delete_rich_menu_alias("main-menu")
    client.unlink_rich_menu_from_user(channel.user_id)
    assert client.get_user_rich_menu_id(channel.user_id) is None


def test_tokens_issue_verify_revoke(channel: Channel) -> None:
    issued = issue_short_lived_token(
        api_base=channel.sim.base_url, channel_id=channel.channel_id, channel_secret=channel.secret
    )
    info = verify_token(api_base=channel.sim.base_url, access_token=issued.access_token)
    assert info.client_id == channel.channel_id and info.expires_in > 0
    assert LineClient(access_token=issued.access_token, api_base=channel.sim.base_url).get_bot_info().user_id
    revoke_short_lived_token(api_base=channel.sim.base_url, access_token=issued.access_token)
    with pytest.raises(LineAPIError) as error:
        issue_short_lived_token(
            api_base=channel.sim.base_url, channel_id=channel.channel_id, channel_secret="wrong-secret-0123456789"
        )
    assert error.value.kind in ("auth", "client") and not error.value.retryable


def test_linesim_webhooks_verify_with_lineapi_signature(channel: Channel) -> None:
    receiver = FakeLine()
    try:
        receiver.on("POST", "/webhook", Reply(200, {}))
        channel.sim.register_channel(channel.channel_id, channel.secret, channel.token, receiver.base_url + "/webhook")
        channel.sim.act(channel.channel_id, channel.user_id, "text", text="こんにちは 👋")
        (seen,) = receiver.requests_to("/webhook")
    finally:
        receiver.close()
    assert verify(channel.secret, seen.body, seen.headers["x-line-signature"])
    assert not verify(channel.secret, seen.body + b" ", seen.headers["x-line-signature"])
