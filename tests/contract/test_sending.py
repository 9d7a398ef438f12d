"""Sending with the official SDK against linesim: the happy paths."""

import time

from linebot.v3.messaging import (
    BroadcastRequest,
    MulticastRequest,
    NarrowcastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
    StickerMessage,
    TextMessage,
    ValidateMessageRequest,
)


def test_a_push_returns_sent_messages_and_reaches_the_users_phone(linesim, channel, user, api):
    response = api.push_message_with_http_info(
        PushMessageRequest(
            to=user["userId"],
            messages=[TextMessage(text="Your order shipped"), StickerMessage(package_id="446", sticker_id="1988")],
        )
    )

    assert response.status_code == 200
    assert len(response.data.sent_messages) == 2
    assert response.data.sent_messages[0].id.isdigit()
    assert response.data.sent_messages[0].quote_token
    request_id = response.headers["x-line-request-id"]
    [send] = linesim.ledger(channelId=channel["channelId"], endpoint="push")
    assert send["requestId"] == request_id
    assert send["to"] == [user["userId"]]
    assert send["messages"][0] == {"type": "text", "text": "Your order shipped"}
    phone = linesim.control("GET", f"/_sim/channels/{channel['channelId']}/users/{user['userId']}/messages")
    assert phone["messages"][0]["requestId"] == request_id


def test_a_multicast_of_500_users_is_accepted_and_counts_500_recipients(linesim, channel, api):
    recipients = [f"U{i:032x}" for i in range(500)]

    api.multicast(MulticastRequest(to=recipients, messages=[TextMessage(text="Sale today")]))

    [send] = linesim.ledger(endpoint="multicast")
    assert send["to"] == recipients
    assert linesim.summary()["recipients"] == 500
    assert api.get_message_quota_consumption().total_usage == 500


def test_a_reply_uses_the_token_from_the_webhook_only_once(linesim, channel, user, api, receiver):
    event = linesim.act(channel["channelId"], user["userId"], "text", text="hello")["event"]

    response = api.reply_message(
        ReplyMessageRequest(reply_token=event["replyToken"], messages=[TextMessage(text="Hi Alice")])
    )

    assert response.sent_messages[0].id
    [send] = linesim.ledger(endpoint="reply")
    assert send["replyToken"] == event["replyToken"]
    assert send["to"] == [user["userId"]]


def test_broadcast_reaches_registered_users_who_have_not_blocked(linesim, channel, user, api):
    blocked = linesim.add_user(channel["channelId"], "Bob")
    linesim.act(channel["channelId"], blocked["userId"], "unfollow")

    api.broadcast(BroadcastRequest(messages=[TextMessage(text="News")]))

    [send] = linesim.ledger(endpoint="broadcast")
    assert send["to"] == [user["userId"]]


def test_narrowcast_is_accepted_and_its_progress_moves_to_succeeded(linesim, channel, user, api):
    response = api.narrowcast_with_http_info(NarrowcastRequest(messages=[TextMessage(text="For you")]))
    assert response.status_code == 202
    request_id = response.headers["x-line-request-id"]

    phases = set()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        progress = api.get_narrowcast_progress(request_id)
        phases.add(progress.phase)
        if progress.phase == "succeeded":
            break
        time.sleep(0.1)

    assert progress.phase == "succeeded"
    assert progress.success_count == 1
    assert "waiting" in phases or "sending" in phases


def test_validate_accepts_a_good_message(api):
    api.validate_push(ValidateMessageRequest(messages=[TextMessage(text="ok")]))


def test_quota_is_enforced_with_lines_monthly_limit_message(linesim, channel, user, api):
    import pytest
    from linebot.v3.messaging import ApiException

    linesim.config(channelId=channel["channelId"], quota=1)
    assert api.get_message_quota().value == 1
    api.push_message(PushMessageRequest(to=user["userId"], messages=[TextMessage(text="1")]))

    with pytest.raises(ApiException) as caught:
        api.push_message(PushMessageRequest(to=user["userId"], messages=[TextMessage(text="2")]))

    assert caught.value.status == 429
    assert "monthly limit" in caught.value.body


def test_a_push_to_a_user_who_blocked_is_accepted_but_not_delivered(linesim, channel, user, api):
    linesim.act(channel["channelId"], user["userId"], "unfollow")

    api.push_message(PushMessageRequest(to=user["userId"], messages=[TextMessage(text="anyone there?")]))

    [send] = linesim.ledger(endpoint="push")
    assert send["undelivered"] == [user["userId"]]
    phone = linesim.control("GET", f"/_sim/channels/{channel['channelId']}/users/{user['userId']}/messages")
    assert phone["messages"] == []


def test_the_phone_page_shows_each_user_and_what_they_received(linesim, channel, user, api):
    import requests

    api.push_message(PushMessageRequest(to=user["userId"], messages=[TextMessage(text="Welcome <b>in</b>")]))

    page = requests.get(linesim.base_url + "/_sim/")

    assert page.status_code == 200
    assert "Alice" in page.text and user["userId"] in page.text
    assert "Welcome &lt;b&gt;in&lt;/b&gt;" in page.text
