"""Webhooks that linesim sends as a LINE user: signed, realistic, redeliverable."""

import re

from linebot.v3 import WebhookParser
from linebot.v3.webhooks import (
    CallbackRequest,
    FollowEvent,
    ImageMessageContent,
    MessageEvent,
    PostbackEvent,
    TextMessageContent,
    UnfollowEvent,
)

ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def parse(channel, headers: dict, body: bytes):
    signature = {k.lower(): v for k, v in headers.items()}["x-line-signature"]
    return WebhookParser(channel["channelSecret"]).parse(body.decode("utf-8"), signature)


def test_a_text_from_a_user_arrives_signed_and_parses_with_the_official_sdk(linesim, channel, user, receiver):
    receiver.received.queue.clear()
    result = linesim.act(channel["channelId"], user["userId"], "text", text="Where is my order?")

    headers, body = receiver.next()
    [event] = parse(channel, headers, body)
    assert result["webhookStatus"] == 200 and result["webhookBody"] == "OK"
    assert isinstance(event, MessageEvent) and isinstance(event.message, TextMessageContent)
    assert event.message.text == "Where is my order?"
    assert event.message.id.isdigit() and event.message.quote_token
    assert event.source.user_id == user["userId"]
    assert ULID.match(event.webhook_event_id)
    assert re.fullmatch(r"[0-9a-f]{32}", event.reply_token)
    assert event.delivery_context.is_redelivery is False
    assert event.mode.value == "active"
    payload = CallbackRequest.from_json(body.decode())
    assert payload.destination == linesim.control("GET", f"/_sim/channels/{channel['channelId']}")["botUserId"]


def test_every_act_as_user_route_produces_an_event_the_sdk_understands(linesim, channel, user, receiver):
    cid, uid = channel["channelId"], user["userId"]
    receiver.received.queue.clear()
    linesim.act(cid, uid, "sticker", packageId="446", stickerId="1988")
    linesim.act(cid, uid, "postback", data="action=buy", params={"date": "2025-01-01"})
    linesim.act(cid, uid, "location")
    linesim.act(cid, uid, "file")
    linesim.act(cid, uid, "image", count=2)
    linesim.act(cid, uid, "unfollow")
    linesim.act(cid, uid, "follow")

    kinds = []
    for _ in range(7):
        headers, body = receiver.next()
        kinds += [type(e) for e in parse(channel, headers, body)]
    assert PostbackEvent in kinds and UnfollowEvent in kinds and FollowEvent in kinds
    assert len(kinds) == 8  # the image set arrives as two events


def test_an_image_a_user_sent_can_be_downloaded_and_unsent_gives_410(linesim, channel, user, blob_api):
    import pytest
    from linebot.v3.messaging import ApiException

    event = linesim.act(channel["channelId"], user["userId"], "image")["event"]
    message_id = event["message"]["id"]

    content = bytes(blob_api.get_message_content(message_id))
    assert content.startswith(b"\x89PNG")
    assert ImageMessageContent.from_dict(event["message"]).content_provider.type == "line"

    linesim.act(channel["channelId"], user["userId"], "unsend", messageId=message_id)
    with pytest.raises(ApiException) as caught:
        blob_api.get_message_content(message_id)
    assert caught.value.status == 410


def test_a_redelivery_repeats_the_event_with_is_redelivery_true(linesim, channel, user, receiver):
    receiver.status = 500
    first = linesim.act(channel["channelId"], user["userId"], "text", text="hello")
    assert first["webhookStatus"] == 500
    receiver.status = 200
    receiver.received.queue.clear()

    again = linesim.control("POST", "/_sim/redeliver", json={"webhookEventId": first["event"]["webhookEventId"]})

    [event] = parse(channel, *receiver.next())
    assert again["webhookStatus"] == 200
    assert event.delivery_context.is_redelivery is True
    assert event.webhook_event_id == first["event"]["webhookEventId"]
    assert event.reply_token == first["event"]["replyToken"]


def test_raw_events_are_signed_and_sent_as_given(linesim, channel, receiver):
    receiver.received.queue.clear()
    linesim.control("POST", f"/_sim/channels/{channel['channelId']}/webhook", json={"events": []})
    headers, body = receiver.next()
    assert parse(channel, headers, body) == []
