"""A marketer composes a campaign: the phone preview follows their typing, a limit error appears at the field,
and sending it shows the progress bar reaching every friend."""

import pytest

from accounts.models import Role
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
