"""A marketer composes a campaign: the phone preview follows their typing, a limit error appears at the field,
and sending it shows the progress bar reaching every friend."""

import json
import re

import pytest

from accounts.models import Role
from accounts.services import line_client
from lineapi.limits import check_messages
from messaging.campaigns.models import Campaign, CampaignState
from messaging.campaigns.tests.factories import friends, linesim_channel, staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_compose_preview_fix_an_error_and_send(page, live_server, linesim, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    channel = linesim_channel(linesim)
    friends(channel, 30)
    staff(channel, role=Role.MARKETER, username="mika", password="s3cret-pass-word")

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "mika")
    page.fill("#id_password", "s3cret-pass-word")
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/ch/{channel.pk}/campaigns/new/")

    page.fill("#id_name", "Browser sale")
    page.fill("#m0-text", "Hello from the browser")
    page.wait_for_selector("[data-testid=phone-preview] .bubble:has-text('Hello from the browser')")

    page.fill("#m0-text", "x" * 5001)
    error = page.locator("[data-path='messages[0].text']")
    error.wait_for(state="visible")
    assert "5000" in error.inner_text()

    page.fill("#m0-text", "Weekend sale!")
    error.wait_for(state="hidden")
    page.wait_for_selector("[data-testid=reach]:has-text('30')")
    page.click("[data-testid=schedule]")
    page.wait_for_selector("[data-testid=state]:has-text('Done')")
    assert page.locator("[data-testid=accepted]").inner_text() == "30"
    assert Campaign.objects.get().state == CampaignState.DONE


def utf16_at(text: str, index: int) -> str:
    """The character at a UTF-16 index (what LINE's emoji index counts)."""
    return text.encode("utf-16-le")[index * 2 : index * 2 + 2].decode("utf-16-le", errors="replace")


def test_pick_a_sticker_and_line_emoji_with_the_keyboard(page, live_server, linesim):
    channel = linesim_channel(linesim)
    friends(channel, 3)
    staff(channel, role=Role.MARKETER, username="aom", password="s3cret-pass-word")
    # No internet here, as for a marketer offline: LINE's CDN images fail and the IDs show instead.
    page.route("https://stickershop.line-scdn.net/**", lambda route: route.abort("internetdisconnected"))
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "aom")
    page.fill("#id_password", "s3cret-pass-word")
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/ch/{channel.pk}/campaigns/new/")
    page.wait_for_selector("[data-testid=phone-preview] .bubble")
    assert page.locator(".error:visible").count() == 0  # a fresh form accuses nobody

    page.fill("#id_name", "Emoji and sticker")
    page.fill("#m0-text", "😀 週末セール")
    page.focus("#m0-text")
    page.keyboard.press("End")
    page.click("[data-testid=emoji-toggle-0]")
    first = page.locator("[data-testid=emoji-picker-0] .emoji-grid button").first
    first.focus()
    page.keyboard.press("ArrowRight")  # roving focus inside the grid
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")  # closes the picker, focus back on its button
    assert page.get_attribute("[data-testid=emoji-toggle-0]", "aria-expanded") == "false"
    page.focus("#m0-text")
    page.keyboard.press("Control+Home")
    page.keyboard.type("$5 ")  # a literal dollar sign before the emoji: the emoji's index moves, it stays an emoji

    page.select_option("#new-type", "sticker")
    page.click("[data-testid=add-message]")
    page.click("[data-testid=sticker-picker-1] label[title='Package 789']")
    page.locator("[data-testid=sticker-picker-1] .cells input").first.focus()
    page.keyboard.press("ArrowRight")  # native radios: arrows pick the next sticker
    page.wait_for_selector("[data-testid=phone-preview] [data-testid=preview-sticker]:has-text('789/10856')")
    page.wait_for_selector("[data-testid=phone-preview] .bubble .img-fallback")

    messages = json.loads(page.input_value("input[name=messages]"))
    text = messages[0]["text"]
    assert text == "$5 😀 週末セール$"
    assert [(e["index"], e["emojiId"]) for e in messages[0]["emojis"]] == [(11, "002")]  # UTF-16: 😀 counts 2
    assert all(utf16_at(text, e["index"]) == "$" for e in messages[0]["emojis"])
    assert messages[1] == {"type": "sticker", "packageId": "789", "stickerId": "10856"}
    assert check_messages(messages) == []
    line_client(channel).validate("push", messages)

    page.click("button[value=draft]")
    page.wait_for_url(re.compile(r"/campaigns/\d+/$"))
    assert Campaign.objects.get().messages == messages
