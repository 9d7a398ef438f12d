"""A real Celery worker killed in the middle of processing loses no event and handles none twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
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

    wait_until(some_done, timeout=60, interval=0.05, message="the worker to start\n" + celery_worker_process.output())
    celery_worker_process.kill()
    unfinished = WebhookEvent.objects.exclude(status="done").count()

    celery_worker_process.start()
    # Beat's sweeper, run as if the dead worker's leases had expired.
    for channel_pk, source_id in processing.sweep(now=timezone.now() + processing.LEASE + timedelta(seconds=1)):
        process_webhook_sources.delay(channel_pk, [source_id])

    def all_done():
        return WebhookEvent.objects.filter(status="done").count() == len(events)

    wait_until(all_done, timeout=90, message="every event to be processed\n" + celery_worker_process.output()[-3000:])
    assert unfinished > 0, "the worker finished everything before it was killed; the test proved nothing"
    assert Message.objects.filter(direction="in").count() == len(events)
    assert Message.objects.values("line_message_id").distinct().count() == len(events)
