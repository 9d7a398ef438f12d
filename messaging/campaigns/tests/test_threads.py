"""After a campaign is delivered, each recipient's inbox thread shows what it said, once."""

import pytest

from messaging.campaigns import services
from messaging.campaigns.models import CampaignState
from messaging.campaigns.tests.factories import campaign, friends, linesim_channel
from messaging.models import Message

pytestmark = pytest.mark.django_db


def test_every_recipient_thread_shows_the_campaign_once(linesim, django_capture_on_commit_callbacks):
    channel = linesim_channel(linesim)
    people = friends(channel, 620)
    c = campaign(channel, name="Autumn sale")

    with django_capture_on_commit_callbacks(execute=True):
        services.campaign_schedule(campaign=c, actor=None, ask_line=False)

    c.refresh_from_db()
    assert c.state == CampaignState.DONE
    lines = Message.objects.filter(campaign_id=c.pk)
    assert lines.count() == 620 * len(c.messages)
    assert set(lines.values_list("conversation__source_id", flat=True)) == {f.user_id for f in people}
    assert set(lines.values_list("sender", "via", "delivery")) == {("campaign", "multicast", "sent")}
    # The request IDs are LINE's, as the ledger recorded them.
    ledger_ids = {s["requestId"] for s in linesim.ledger(channelId=channel.channel_id)}
    assert set(lines.values_list("line_request_id", flat=True)) <= ledger_ids
