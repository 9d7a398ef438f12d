"""After a campaign is delivered, each recipient's inbox thread shows what it said, once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.campaigns import delivery, services
from messaging.campaigns.models import Campaign, CampaignState
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


def _delivered_without_thread_log(linesim, django_capture_on_commit_callbacks, monkeypatch):
    """A multicast campaign delivered while its thread-log task was lost (a killed worker, say)."""
    from messaging.campaigns import tasks

    channel = linesim_channel(linesim)
    friends(channel, 30)
    c = campaign(channel, name="Winter sale")
    monkeypatch.setattr(tasks.log_campaign_in_threads, "delay_on_commit", lambda *args, **kwargs: None)
    with django_capture_on_commit_callbacks(execute=True):
        services.campaign_schedule(campaign=c, actor=None, ask_line=False)
    monkeypatch.undo()
    c.refresh_from_db()
    assert c.state == CampaignState.DONE and not Message.objects.filter(campaign_id=c.pk).exists()
    return c


def test_the_sweeper_writes_the_threads_of_a_campaign_whose_thread_log_was_lost(
    linesim, django_capture_on_commit_callbacks, monkeypatch
):
    c = _delivered_without_thread_log(linesim, django_capture_on_commit_callbacks, monkeypatch)
    long_ago = timezone.now() - timedelta(hours=1)
    Campaign.objects.filter(pk=c.pk).update(finished_at=long_ago, kicked_at=long_ago)

    with django_capture_on_commit_callbacks(execute=True):
        assert delivery.deliveries_sweep()["relogged"] == [c.pk]

    assert Message.objects.filter(campaign_id=c.pk).count() == 30 * len(c.messages)
    c.refresh_from_db()
    assert c.threads_logged_at is not None
    with django_capture_on_commit_callbacks(execute=True):
        assert delivery.deliveries_sweep()["relogged"] == []  # done: never again


def test_the_sweeper_leaves_a_thread_log_still_at_work(linesim, django_capture_on_commit_callbacks, monkeypatch):
    c = _delivered_without_thread_log(linesim, django_capture_on_commit_callbacks, monkeypatch)
    Campaign.objects.filter(pk=c.pk).update(
        finished_at=timezone.now() - timedelta(hours=1), kicked_at=timezone.now()  # a log task stamped it
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert delivery.deliveries_sweep()["relogged"] == []
    assert not Message.objects.filter(campaign_id=c.pk).exists()
