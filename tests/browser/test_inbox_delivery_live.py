"""An agent fills the reply box from a saved reply, and watches a line waiting for LINE turn to "pushed"
without reloading the page."""

import pytest
from playwright.sync_api import expect

from accounts.services import line_client
from messaging import sending
from messaging.models import SavedReply
from messaging.tests.factories import friend_chat, linesim_channel, logged_send

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_saved_reply_fills_the_box_and_a_waiting_line_turns_to_pushed_live(
    page, live_server, linesim, django_user_model
):
    agent = django_user_model.objects.create_superuser("sam", "sam@example.com", "s3cret-pass-word")
    channel = linesim_channel(linesim)
    user_id = linesim.add_user(channel.channel_id, "Mei Lin")["userId"]
    conversation = friend_chat(channel, user_id=user_id)
    SavedReply.objects.create(channel=channel, title="退貨流程", text="退貨請在七天內寄回。")

    page.goto(f"{live_server.url}/ch/{channel.pk}/inbox/{conversation.pk}/")
    page.fill("#id_username", "sam")
    page.fill("#id_password", "s3cret-pass-word")
    page.click("button[type=submit]")
    page.wait_for_url(f"**/inbox/{conversation.pk}/")
    page.wait_for_load_state("domcontentloaded")  # inbox.js (deferred) listens for the pick
    page.select_option("[data-testid=saved-reply-picker]", label="退貨流程")
    expect(page.locator("#reply-text")).to_have_value("退貨請在七天內寄回。")

    page.evaluate("window.notReloaded = true")
    [row] = logged_send(conversation, "We will check and get back to you", staff=agent)
    line = page.locator(f"#m-{row.pk} [data-testid=delivery]")
    expect(line).to_have_attribute("data-delivery", "pending", timeout=15000)  # arrived through polling

    outcome = sending.deliver([row.pk], client_for=line_client, allow_push=True)  # what the worker does

    assert outcome.ok
    expect(line).to_have_text("pushed", timeout=15000)
    assert page.evaluate("window.notReloaded") is True
    [send] = linesim.ledger(channelId=channel.channel_id, endpoint="push")
    assert send["to"] == [user_id]
