"""A person signs in, reads the console in Japanese and back in English, and connects a channel."""

import re
import secrets

import pytest

from accounts.models import Channel

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_in_switch_language_and_connect_a_channel(page, live_server, linesim, django_user_model):
    django_user_model.objects.create_superuser("amy", "amy@example.com", "s3cret-pass-word")
    channel_id, secret, token = "2000777001", secrets.token_hex(16), secrets.token_urlsafe(40)
    linesim.register_channel(channel_id, secret, token, f"{live_server.url}/webhooks/line/{channel_id}/")

    page.goto(f"{live_server.url}/")
    page.fill("#id_username", "amy")
    page.fill("#id_password", "s3cret-pass-word")
    page.click("button[type=submit]")
    page.wait_for_selector("h1:text-is('Channels')")

    page.select_option("#language", "ja")
    page.wait_for_selector("h1:text-is('チャネル')")
    assert page.locator("html").get_attribute("lang") == "ja"
    page.select_option("#language", "en")
    page.wait_for_selector("h1:text-is('Channels')")

    page.click("a:text-is('Connect a channel')")
    page.fill("#id_name", "Browser Shop")
    page.fill("#id_channel_id", channel_id)
    page.fill("#id_channel_secret", "0" * 32)  # a wrong secret first
    page.fill("#id_access_token", token)
    page.click("details:has(#id_api_base) summary")
    page.fill("#id_api_base", linesim.base_url)
    page.fill("#id_data_api_base", linesim.base_url)
    page.click("button.primary")
    page.wait_for_selector("[data-field=channel_secret]")
    assert not Channel.objects.exists()

    page.fill("#id_channel_secret", secret)
    page.fill("#id_access_token", token)
    page.click("button.primary")
    webhook = page.wait_for_selector("[data-testid=webhook-url]").inner_text()
    assert re.search(rf"/webhooks/line/{channel_id}/$", webhook)
    assert Channel.objects.get(channel_id=channel_id).verified_at is not None
    assert page.locator("#channel-switch option:checked").inner_text() == "Browser Shop"
