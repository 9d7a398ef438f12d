"""Exactly once under faults: a real Celery worker is SIGKILLed mid-campaign while linesim drops responses,
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
    """Leases short enough that work a killed worker held is handed on within seconds (env reaches the worker)."""
    monkeypatch.setenv("CAMPAIGN_LEASE_SECONDS", "4")
    monkeypatch.setenv("CAMPAIGN_SENDERS", "4")
    settings.CAMPAIGN_LEASE_SECONDS = 4
    settings.CAMPAIGN_SENDERS = 4


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

    services.campaign_schedule(campaign=c, actor=None, ask_line=False)

    kills = 0
    deadline = time.monotonic() + 180
    next_kill = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        c.refresh_from_db()
        if c.state in (CampaignState.DONE, CampaignState.FAILED):
            break
        if kills < 3 and time.monotonic() >= next_kill:
            celery_worker_process.kill()
            kills += 1
            celery_worker_process.start()
            next_kill = time.monotonic() + 2.5
        delivery.deliveries_sweep()  # what beat does every 30 s
        time.sleep(0.5)

    summary = linesim.summary()
    errors = list(c.batches.exclude(error=None).values_list("state", "attempts", "error")[:5])
    assert c.state == CampaignState.DONE, (c.state, summary, errors, celery_worker_process.output()[-3000:])
    assert kills == 3
    received = Counter(uid for send in linesim.ledger(channelId=channel.channel_id) for uid in send["to"])
    expected = {user_id(i) for i in range(RECIPIENTS)}
    missing = expected - set(received)
    duplicates = [uid for uid, n in received.items() if n > 1]
    assert (len(missing), len(duplicates)) == (0, 0), f"missing={len(missing)} duplicates={len(duplicates)}"
    assert set(received) == expected
    assert c.accepted_count == RECIPIENTS
    assert not c.batches.exclude(state=BatchState.ACCEPTED).exists()
    assert summary["dropped"] + summary["http5xx"] + summary["http429"] > 0, summary
