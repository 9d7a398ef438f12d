"""The delivery engine against linesim (tasks run eagerly): who gets what, how often, and what the marketer sees."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Role
from accounts.services import line_client
from messaging.campaigns import delivery, services
from messaging.campaigns.models import (
    AudienceKind,
    BatchState,
    Campaign,
    CampaignState,
    DeliveryBatch,
    PauseReason,
)
from messaging.campaigns.tests.factories import campaign, friends, linesim_channel, staff, user_id

pytestmark = pytest.mark.django_db


def recipients_in(ledger) -> list[str]:
    return [uid for send in ledger for uid in send["to"]]


def send_now(c, actor=None):
    return services.campaign_schedule(campaign=c, actor=actor, ask_line=False)


def test_a_multicast_campaign_reaches_every_friend_exactly_once(linesim, django_capture_on_commit_callbacks):
    channel = linesim_channel(linesim)
    friends(channel, 1203)
    c = campaign(channel, name="Spring sale 2025", notification_disabled=True)

    with django_capture_on_commit_callbacks(execute=True):
        send_now(c)

    c.refresh_from_db()
    assert c.state == CampaignState.DONE
    assert (c.recipients_count, c.accepted_count, c.failed_count) == (1203, 1203, 0)
    sends = linesim.ledger(channelId=channel.channel_id)
    assert sorted(len(s["to"]) for s in sends) == [203, 500, 500]
    assert sorted(recipients_in(sends)) == sorted(user_id(i) for i in range(1203))
    assert all(s["notificationDisabled"] and s["customAggregationUnits"] == [c.unit_name] for s in sends)
    assert c.unit_name.startswith("Spring_sale_2025_")


def test_each_batch_keeps_the_retry_key_it_was_stored_with(linesim, django_capture_on_commit_callbacks):
    channel = linesim_channel(linesim)
    friends(channel, 700)
    c = campaign(channel)
    with django_capture_on_commit_callbacks(execute=True):
        send_now(c)
    keys = {str(b.retry_key) for b in DeliveryBatch.objects.filter(campaign=c)}
    assert {s["retryKey"] for s in linesim.ledger(channelId=channel.channel_id)} == keys


def test_a_batch_line_already_accepted_counts_as_accepted_and_is_not_sent_again(linesim):
    channel = linesim_channel(linesim)
    friends(channel, 10)
    c = campaign(channel, state=CampaignState.SENDING, delivery="multicast", freeze_max_pk=10**9)
    delivery.campaign_freeze_step(campaign_pk=c.pk)
    batch = DeliveryBatch.objects.get(campaign=c)
    # A previous attempt reached LINE but its answer was lost.
    line_client(channel).multicast(batch.user_ids, c.messages, retry_key=batch.retry_key)

    delivery.campaign_send_loop(campaign_pk=c.pk, budget_seconds=10)

    batch.refresh_from_db()
    c.refresh_from_db()
    assert batch.state == BatchState.ACCEPTED and c.state == CampaignState.DONE
    assert c.accepted_count == 10
    assert len(linesim.ledger(channelId=channel.channel_id)) == 1


def test_a_server_error_is_retried_with_the_same_key(linesim):
    channel = linesim_channel(linesim)
    friends(channel, 20)
    c = campaign(channel, state=CampaignState.SENDING, delivery="multicast", freeze_max_pk=10**9)
    delivery.campaign_freeze_step(campaign_pk=c.pk)
    linesim.fault("500", "multicast", count=1)

    delivery.campaign_send_loop(campaign_pk=c.pk, budget_seconds=20)

    c.refresh_from_db()
    batch = c.batches.get()
    assert c.state == CampaignState.DONE and c.accepted_count == 20
    assert linesim.summary()["byStatus"] == {"500": 1, "200": 1}  # LINE saw the request twice...
    assert [s["retryKey"] for s in linesim.ledger(channelId=channel.channel_id)] == [str(batch.retry_key)]


def test_a_dropped_response_does_not_send_twice(linesim):
    channel = linesim_channel(linesim)
    friends(channel, 20)
    c = campaign(channel, state=CampaignState.SENDING, delivery="multicast", freeze_max_pk=10**9)
    delivery.campaign_freeze_step(campaign_pk=c.pk)
    linesim.fault("drop", "multicast", count=1)

    delivery.campaign_send_loop(campaign_pk=c.pk, budget_seconds=30)

    c.refresh_from_db()
    assert c.state == CampaignState.DONE and c.accepted_count == 20
    assert len(recipients_in(linesim.ledger(channelId=channel.channel_id))) == 20


def test_the_monthly_limit_pauses_the_campaign_and_tells_the_marketer(linesim, mailoutbox):
    channel = linesim_channel(linesim)
    friends(channel, 600)
    marketer = staff(channel, email="mika@example.com")
    c = campaign(channel, state=CampaignState.SENDING, delivery="multicast", freeze_max_pk=10**9, created_by=marketer)
    delivery.campaign_freeze_step(campaign_pk=c.pk)
    linesim.fault("429-quota", "multicast", count=1)

    assert delivery.campaign_send_loop(campaign_pk=c.pk, budget_seconds=10) == "paused"

    c.refresh_from_db()
    assert c.state == CampaignState.PAUSED and c.pause_reason == PauseReason.QUOTA
    assert c.events.filter(kind="paused", is_alert=True).exists()
    assert "paused" in mailoutbox[0].subject.lower()
    assert not c.batches.filter(state=BatchState.FAILED).exists()


def test_a_scheduled_campaign_starts_once_even_if_beat_runs_twice(linesim):
    channel = linesim_channel(linesim)
    friends(channel, 5)
    c = campaign(
        channel, state=CampaignState.SCHEDULED, scheduled_at=timezone.now() - timedelta(seconds=1), estimated_reach=5
    )

    results = [delivery.campaign_start(campaign_pk=c.pk), delivery.campaign_start(campaign_pk=c.pk)]

    assert sorted(results) == [False, True]
    assert c.events.filter(kind="started").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_beats_starting_the_same_campaign_at_once_start_it_once(linesim):
    channel = linesim_channel(linesim)
    c = campaign(
        channel,
        state=CampaignState.SCHEDULED,
        scheduled_at=timezone.now() - timedelta(seconds=1),
        estimated_reach=0,
        quota_override=True,
    )
    results = []

    def beat():
        try:
            results.append(delivery.campaign_start(campaign_pk=c.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=beat) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1
    assert c.events.filter(kind="started").count() == 1


def test_a_campaign_due_later_does_not_start_yet(linesim):
    channel = linesim_channel(linesim)
    c = campaign(channel, state=CampaignState.SCHEDULED, scheduled_at=timezone.now() + timedelta(hours=1))
    assert delivery.campaign_start(campaign_pk=c.pk) is False
    assert Campaign.objects.get(pk=c.pk).state == CampaignState.SCHEDULED


def test_the_sweeper_hands_a_dead_workers_batch_to_another_sender(linesim):
    channel = linesim_channel(linesim)
    friends(channel, 30)
    c = campaign(channel, state=CampaignState.SENDING, delivery="multicast", freeze_max_pk=10**9)
    delivery.campaign_freeze_step(campaign_pk=c.pk)
    claimed = delivery.batch_claim(campaign_pk=c.pk)  # ...and then the worker died
    DeliveryBatch.objects.filter(pk=claimed.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))

    assert delivery.deliveries_sweep()["released"] == 1

    c.refresh_from_db()
    assert c.state == CampaignState.DONE and c.accepted_count == 30
    assert len(linesim.ledger(channelId=channel.channel_id)) == 1


def test_a_sender_takes_over_a_batch_whose_holder_stopped_renewing_its_lease(linesim):
    channel = linesim_channel(linesim)
    friends(channel, 30)
    c = campaign(channel, state=CampaignState.SENDING, delivery="multicast", freeze_max_pk=10**9)
    delivery.campaign_freeze_step(campaign_pk=c.pk)
    claimed = delivery.batch_claim(campaign_pk=c.pk)  # a worker claimed it, and died
    DeliveryBatch.objects.filter(pk=claimed.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))

    delivery.campaign_send_loop(campaign_pk=c.pk, budget_seconds=10)  # no sweeper involved

    c.refresh_from_db()
    assert c.state == CampaignState.DONE and c.accepted_count == 30
    assert len(linesim.ledger(channelId=channel.channel_id)) == 1


def test_the_sweeper_starts_a_due_campaign_whose_start_task_was_lost(linesim, django_capture_on_commit_callbacks):
    channel = linesim_channel(linesim)
    friends(channel, 700)
    c = campaign(
        channel, state=CampaignState.SCHEDULED, scheduled_at=timezone.now() - timedelta(minutes=5), estimated_reach=700
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert delivery.deliveries_sweep()["started"] == [c.pk]

    c.refresh_from_db()
    assert c.state == CampaignState.DONE and c.accepted_count == 700
    assert sorted(recipients_in(linesim.ledger(channelId=channel.channel_id))) == sorted(user_id(i) for i in range(700))


def test_the_sweeper_leaves_a_campaign_just_scheduled_to_its_own_start_task(linesim):
    channel = linesim_channel(linesim)
    c = campaign(channel, state=CampaignState.SCHEDULED, scheduled_at=timezone.now(), estimated_reach=1)
    assert delivery.deliveries_sweep()["started"] == []
    assert Campaign.objects.get(pk=c.pk).state == CampaignState.SCHEDULED


def test_a_failing_push_is_retried_with_its_own_key_and_nobody_gets_two(linesim, django_capture_on_commit_callbacks):
    channel = linesim_channel(linesim)
    friends(channel, 40)
    c = campaign(channel, personalize=True, messages=[{"type": "text", "text": "Hi {name}"}])
    linesim.fault("500", "push", count=3)
    linesim.fault("drop", "push", count=3)
    with django_capture_on_commit_callbacks(execute=True):
        send_now(c)
    c.refresh_from_db()
    sends = linesim.ledger(channelId=channel.channel_id, endpoint="push")
    assert c.state == CampaignState.DONE and c.accepted_count == 40
    assert sorted(recipients_in(sends)) == sorted(user_id(i) for i in range(40))


def test_personalised_pushes_greet_each_friend_by_name(linesim, django_capture_on_commit_callbacks):
    channel = linesim_channel(linesim)
    friends(channel, 3)
    c = campaign(channel, personalize=True, messages=[{"type": "text", "text": "Hi {name}, welcome back!"}])
    with django_capture_on_commit_callbacks(execute=True):
        send_now(c)
    c.refresh_from_db()
    assert c.state == CampaignState.DONE and c.accepted_count == 3
    texts = sorted(s["messages"][0]["text"] for s in linesim.ledger(channelId=channel.channel_id, endpoint="push"))
    assert texts == ["Hi Friend 0, welcome back!", "Hi Friend 1, welcome back!", "Hi Friend 2, welcome back!"]


def test_all_friends_is_one_broadcast(linesim, django_capture_on_commit_callbacks):
    channel = linesim_channel(linesim)
    friends(channel, 3)
    c = campaign(channel, audience_kind=AudienceKind.ALL)
    with django_capture_on_commit_callbacks(execute=True):
        send_now(c)
    c.refresh_from_db()
    assert c.state == CampaignState.DONE and c.line_request_id
    assert [s["endpoint"] for s in linesim.ledger(channelId=channel.channel_id)] == ["broadcast"]


def test_a_narrowcast_finishes_when_line_reports_it_succeeded(linesim, django_capture_on_commit_callbacks):
    channel = linesim_channel(linesim)
    c = campaign(
        channel,
        audience_kind=AudienceKind.DEMOGRAPHIC,
        audience={"filter": {"demographic": {"type": "gender", "oneOf": ["female"]}}, "max": 100},
    )
    c.state, c.scheduled_at, c.estimated_reach, c.quota_override = CampaignState.SCHEDULED, timezone.now(), 100, True
    c.save()
    with django_capture_on_commit_callbacks(execute=True):
        delivery.campaign_start(campaign_pk=c.pk)
    c.refresh_from_db()
    assert c.state == CampaignState.SENDING and c.narrowcast_phase == "waiting"
    import time

    deadline = time.monotonic() + 10
    while delivery.narrowcast_poll(campaign_pk=c.pk) not in ("succeeded", "failed") and time.monotonic() < deadline:
        time.sleep(0.3)
    c.refresh_from_db()
    assert c.state == CampaignState.DONE


def test_pausing_stops_sending_and_resuming_finishes_the_rest(linesim, django_capture_on_commit_callbacks):
    channel = linesim_channel(linesim)
    friends(channel, 1500)
    admin = staff(channel, role=Role.ADMIN)
    c = campaign(channel, state=CampaignState.SENDING, delivery="multicast", freeze_max_pk=10**9)
    delivery.campaign_freeze_step(campaign_pk=c.pk)
    services.campaign_pause(campaign=c, actor=admin)

    assert delivery.campaign_send_loop(campaign_pk=c.pk, budget_seconds=5) == "paused"
    assert linesim.ledger(channelId=channel.channel_id) == []

    with django_capture_on_commit_callbacks(execute=True):
        services.campaign_resume(campaign=c, actor=admin)  # eager: the senders run now
    c.refresh_from_db()
    assert c.state == CampaignState.DONE and c.accepted_count == 1500


def test_each_personalised_push_arrives_once_under_a_key_derived_from_its_batch(
    linesim, django_capture_on_commit_callbacks
):
    channel = linesim_channel(linesim)
    friends(channel, 30)
    messages = [{"type": "text", "text": "Hi {name}"}, {"type": "text", "text": "Bye"}]
    c = campaign(channel, personalize=True, messages=messages)
    with django_capture_on_commit_callbacks(execute=True):
        send_now(c)
    [batch] = DeliveryBatch.objects.filter(campaign=c)
    sends = linesim.ledger(channelId=channel.channel_id, endpoint="push")
    keys = sorted(str(uuid.uuid5(batch.retry_key, user_id(i))) for i in range(30))
    assert sorted(s["retryKey"] for s in sends) == keys
    assert {(s["to"][0], s["messages"][0]["text"], s["messages"][1]["text"]) for s in sends} == {
        (user_id(i), f"Hi Friend {i}", "Bye") for i in range(30)
    }
    assert c.messages[0]["text"] == "Hi {name}"  # the campaign itself is untouched


def test_the_monthly_limit_on_a_push_pauses_the_personalised_campaign(linesim, mailoutbox):
    channel = linesim_channel(linesim)
    friends(channel, 50)
    marketer = staff(channel, email="mika@example.com")
    c = campaign(
        channel,
        state=CampaignState.SENDING,
        delivery="push",
        personalize=True,
        freeze_max_pk=10**9,
        messages=[{"type": "text", "text": "Hi {name}"}],
        created_by=marketer,
    )
    delivery.campaign_freeze_step(campaign_pk=c.pk)
    linesim.fault("429-quota", "push", count=1)

    assert delivery.campaign_send_loop(campaign_pk=c.pk, budget_seconds=10) == "paused"

    c.refresh_from_db()
    assert c.state == CampaignState.PAUSED and c.pause_reason == PauseReason.QUOTA
    assert "paused" in mailoutbox[0].subject.lower()
    assert not c.batches.filter(state__in=[BatchState.FAILED, BatchState.ACCEPTED]).exists()
