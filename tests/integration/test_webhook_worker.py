"""A real Celery worker killed in the middle of processing loses no event and handles none twice."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db.models import Count
from django.utils import timezone

from accounts.tests.factories import ChannelFactory
from messaging.models import Message, WebhookEvent
from messaging.tasks import process_webhook_sources
from messaging.webhooks import processing
from tests.fixtures import webhooks as fx
from tests.support import wait_until

pytestmark = pytest.mark.worker


def _events(count: int, sources: int) -> list[dict]:
    base = fx.events("message_text")[0]
    out = []
    for i in range(count):
        user = "U" + f"{i % sources:032x}"
        out.append(
            dict(
                base,
                webhookEventId=f"01JGKZ3QW8V4M1N2P3Q{i:07d}",
                timestamp=base["timestamp"] + i,
                source={"type": "user", "userId": user},
                message={"id": f"5{i:017d}", "type": "text", "text": f"message {i}", "quoteToken": "q"},
            )
        )
    return out


def test_a_worker_killed_mid_processing_loses_no_event(celery_worker_process, client):
    channel = ChannelFactory(channel_id="2000777001", channel_secret=fx.SECRET, bot_user_id=fx.DESTINATION)
    events = _events(400, sources=40)
    for i in range(0, len(events), 100):
        assert fx.post(client, channel, events[i : i + 100]).status_code == 200

    def some_done():
        return WebhookEvent.objects.filter(status="done").count() >= 10

    wait_until(
        some_done, timeout=60, interval=0.05, message=lambda: "the worker to start\n" + celery_worker_process.output()
    )
    celery_worker_process.kill()
    unfinished = WebhookEvent.objects.exclude(status="done").count()

    celery_worker_process.start()
    # Beat's sweeper, run as if the dead worker's leases had expired.
    for channel_pk, source_id in processing.sweep(now=timezone.now() + processing.LEASE + timedelta(seconds=1)):
        process_webhook_sources.delay(channel_pk, [source_id])

    beat = {"next": time.monotonic() + 5}

    def all_done():
        if WebhookEvent.objects.filter(status="done").count() == len(events):
            return True
        if time.monotonic() > beat["next"]:
            # Beat again, with the retry backoff of events that failed meanwhile (on a loaded machine SQLite
            # can answer "database is locked") already over: a failed event holds back its source's later
            # events until it is done, and real backoffs run to minutes.
            beat["next"] = time.monotonic() + 5
            WebhookEvent.objects.filter(status="failed").update(next_attempt_at=timezone.now())
            for channel_pk, source_id in processing.sweep():
                process_webhook_sources.delay(channel_pk, [source_id])
        return False

    def progress():
        counts = dict(WebhookEvent.objects.values_list("status").annotate(n=Count("pk")).order_by())
        errors = set(WebhookEvent.objects.exclude(last_error="").values_list("last_error", flat=True)[:5])
        return f"statuses {counts}, errors {errors}\n" + celery_worker_process.output()[-3000:]

    try:
        wait_until(all_done, timeout=120, message="every event to be processed")
    except pytest.fail.Exception:
        pytest.fail(f"not every event was processed: {progress()}")
    assert unfinished > 0, "the worker finished everything before it was killed; the test proved nothing"
    assert Message.objects.filter(direction="in").count() == len(events)
    assert Message.objects.values("line_message_id").distinct().count() == len(events)
