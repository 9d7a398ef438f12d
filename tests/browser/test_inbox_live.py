"""A support agent watches a friend arrive in the inbox live and answers with the free reply token."""

import re
import secrets

import pytest
from playwright.sync_api import expect

from accounts.models import Channel, TokenMode
from messaging.models import Message

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_friend_follows_writes_and_sends_an_image_and_the_agent_replies_live(
    page, live_server, linesim, django_user_model
):
    django_user_model.objects.create_superuser("sam", "sam@example.com", "s3cret-pass-word")
    channel_id, secret, token = "2000555001", secrets.token_hex(16), secrets.token_urlsafe(40)
    registered = linesim.register_channel(channel_id, secret, token, f"{live_server.url}/webhooks/line/{channel_id}/")
    channel = Channel.objects.create(
        name="Live Shop",
        channel_id=channel_id,
        channel_secret=secret,
        token_mode=TokenMode.LONG_LIVED,
        access_token=token,
        bot_user_id=registered["botUserId"],
        api_base=linesim.base_url,
        data_api_base=linesim.base_url,
    )
    user_id = linesim.add_user(channel_id, "Mei Lin", language="zh-TW")["userId"]

    page.goto(f"{live_server.url}/ch/{channel.pk}/inbox/")
    page.fill("#id_username", "sam")
    page.fill("#id_password", "s3cret-pass-word")
    page.click("button[type=submit]")
    expect(page.get_by_text("No conversations yet")).to_be_visible()

    assert linesim.act(channel_id, user_id, "follow")["webhookStatus"] == 200
    assert linesim.act(channel_id, user_id, "text", text="Do you have this in size M?")["webhookStatus"] == 200

    conversation = page.locator("[data-testid=conversation]", has_text="Mei Lin")
    expect(conversation).to_be_visible(timeout=15000)  # arrived without a reload
    expect(conversation.locator("[data-testid=unread]")).to_have_text("1")
    conversation.locator("a").click()
    expect(page.locator("[data-testid=messages]")).to_contain_text("Do you have this in size M?")
    expect(page.locator("[data-testid=messages]")).to_contain_text("Added the account as a friend")

    assert linesim.act(channel_id, user_id, "image")["webhookStatus"] == 200
    image = page.locator("[data-testid=message][data-type=image] img.content")
    expect(image).to_be_visible(timeout=15000)  # the thread updated itself
    assert page.evaluate("(img) => img.naturalWidth", image.element_handle()) > 0  # our archived copy

    page.fill("#reply-text", "Yes, size M is in stock!")
    page.click("[data-testid=reply-form] button[type=submit]")
    expect(page.get_by_text("Sent with the reply token (free).")).to_be_visible()
    expect(page.locator("[data-testid=message][data-direction=out]")).to_contain_text("Yes, size M is in stock!")

    [send] = linesim.ledger(channelId=channel_id, endpoint="reply")
    assert send["to"] == [user_id]
    assert send["messages"] == [{"type": "text", "text": "Yes, size M is in stock!"}]
    sent = Message.objects.get(direction="out")
    assert sent.via == "reply" and sent.line_request_id == send["requestId"]
    assert re.fullmatch(r"\d+", sent.line_message_id)
