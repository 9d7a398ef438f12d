"""Exactly once under faults: real Celery workers are SIGKILLed mid-campaign while linesim drops responses,
answers 500 and 429; linesim's ledger still shows every recipient exactly once."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from messaging.campaigns import delivery, services
from messaging.campaigns.models import BatchState, CampaignState
from messaging.campaigns.tests.factories import campaign, friends, linesim_channel, user_id

pytestmark = [pytest.mark.worker, pytest.mark.timeout(240)]

RECIPIENTS = 20_000  # 40 batches


@pytest.fixture
def short_leases(monkeypatch, settings):
    """Leases short enough that work a killed worker held is handed on within seconds, and few enough
    requests in flight that the kills land mid-campaign (env reaches the worker)."""
    for name, value in {"CAMPAIGN_LEASE_SECONDS": 4, "CAMPAIGN_SENDERS": 2, "CAMPAIGN_PUSH_THREADS": 2}.items():
        monkeypatch.setenv(name, str(value))
        setattr(settings, name, value)


def received_by(linesim, channel) -> Counter:
    return Counter(uid for send in linesim.ledger(channelId=channel.channel_id) for uid in send["to"])


def lose_queued_tasks() -> None:
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("celery")


def beat_until_finished(c, seconds: float, on_tick=None):
    """What beat does (the sweeper, every 30 s in production; here every half second) until the campaign ends."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        c.refresh_from_db()
        if c.state in (CampaignState.DONE, CampaignState.FAILED):
            return
        if on_tick:
            on_tick()
        delivery.deliveries_sweep()
        time.sleep(0.5)


def assert_everyone_once(c, linesim, channel, count, worker):
    received = received_by(linesim, channel)
    expected = {user_id(i) for i in range(count)}
    missing = expected - set(received)
    duplicates = [uid for uid, n in received.items() if n > 1]
    assert c.state == CampaignState.DONE, (c.state, linesim.summary(), worker.output()[-3000:])
    assert (len(missing), len(duplicates)) == (0, 0), f"missing={len(missing)} duplicates={len(duplicates)}"
    assert set(received) == expected
    assert c.accepted_count == count
    assert not c.batches.exclude(state=BatchState.ACCEPTED).exists()


def test_every_recipient_gets_the_campaign_exactly_once_despite_kills_and_faults(
    short_leases, celery_worker_process, linesim
):
    channel = linesim_channel(linesim)
    friends(channel, RECIPIENTS)
    c = campaign(channel, name="Exactly once")
    # Slow every multicast down so the kills land mid-flight, and make failures frequent enough to matter.
    linesim.fault("latency", "multicast", fraction=1.0, latencyMs=250)
    linesim.fault("drop", "multicast", fraction=0.08)
    linesim.fault("500", "multicast", fraction=0.08)
    linesim.fault("429", "multicast", fraction=0.05)
    # Kill the worker (pool children included) when sending has just begun, a third through, two thirds in.
    kill_at = [1, 12, 24]
    kills = []

    def kill_on_progress():
        accepted = c.batches.filter(state=BatchState.ACCEPTED).count()
        if kill_at and accepted >= kill_at[0]:
            kill_at.pop(0)
            kills.append(accepted)
            celery_worker_process.kill()
            celery_worker_process.start()

    services.campaign_schedule(campaign=c, actor=None, ask_line=False)
    beat_until_finished(c, 180, on_tick=kill_on_progress)

    assert_everyone_once(c, linesim, channel, RECIPIENTS, celery_worker_process)
    assert len(kills) == 3 and kills[-1] < 40, kills  # every kill landed before the last batch went out
    summary = linesim.summary()
    assert summary["dropped"] + summary["http5xx"] + summary["http429"] > 0, summary


def test_a_campaign_whose_start_task_died_with_the_worker_still_goes_out_once(
    short_leases, celery_worker_process, linesim
):
    channel = linesim_channel(linesim)
    friends(channel, 2_000)
    c = campaign(channel, name="Lost start")
    celery_worker_process.kill()  # the worker that would have taken the start task is gone...
    services.campaign_schedule(campaign=c, actor=None, ask_line=False)
    lose_queued_tasks()  # ...and the task with it (the file-system broker deletes what it hands out)
    celery_worker_process.start()

    beat_until_finished(c, 60)

    assert_everyone_once(c, linesim, channel, 2_000, celery_worker_process)
