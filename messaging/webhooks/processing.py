"""Turning stored webhook rows into effects: claim, run the registered handlers, mark done or failed.

Each event is claimed with a conditional UPDATE (status and lease), so two workers never run the same
event at once; the handlers and the "done" mark commit in one transaction, so an event's effects land
exactly once even when a worker dies half-way (its lease expires, the sweeper releases the event, and the
next run starts from a clean slate). Events of one source (a user, group or room) are taken in
`timestamp` order.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from ..models import WebhookEvent
from . import registry

log = logging.getLogger(__name__)

Status = WebhookEvent.Status
LEASE = timedelta(seconds=getattr(settings, "MESSAGING_EVENT_LEASE_SECONDS", 120))
MAX_ATTEMPTS = 8
# Events not picked up this long after arrival are presumed lost in the broker.
PENDING_GRACE = timedelta(seconds=30)
# Stored in English in last_error (the sweeper runs in no one's language) and translated where it is shown:
# WebhookEvent admin and API pass last_error through gettext().
WORKER_LOST = gettext_noop("The worker processing this event stopped before finishing.")


class LeaseLost(Exception):
    """Another worker took the event over (our lease expired); our transaction is rolled back."""


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min ... capped at 1 h."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def _due(now) -> Q:
    return Q(status=Status.PENDING, attempts__lt=MAX_ATTEMPTS) | Q(
        status=Status.FAILED, next_attempt_at__lte=now, attempts__lt=MAX_ATTEMPTS
    )


def claim_next(channel_pk: int, source_id: str) -> WebhookEvent | None:
    """Claim the earliest due event of one source, or None when none is left (or others hold them)."""
    now = timezone.now()
    candidates = list(
        WebhookEvent.objects.filter(_due(now), channel_id=channel_pk, source_id=source_id)
        .order_by("timestamp", "pk")
        .values_list("pk", flat=True)[:5]
    )
    for pk in candidates:
        lease = now + LEASE
        taken = WebhookEvent.objects.filter(_due(now), pk=pk).update(
            status=Status.PROCESSING, locked_until=lease, attempts=F("attempts") + 1
        )
        if taken:
            return WebhookEvent.objects.select_related("channel").get(pk=pk)
    return None


def process_source(channel_pk: int, source_id: str) -> int:
    """Process every due event of one source in timestamp order; returns how many were run."""
    count = 0
    while (event := claim_next(channel_pk, source_id)) is not None:
        run(event)
        count += 1
    return count


def run(event: WebhookEvent) -> None:
    """Run the handlers of a claimed event and record the outcome on it."""
    handlers = registry.handlers_for(event.type)
    try:
        with transaction.atomic():
            for handler in handlers:
                handler(event)
            finished = WebhookEvent.objects.filter(
                pk=event.pk, status=Status.PROCESSING, locked_until=event.locked_until
            ).update(
                status=Status.DONE if handlers else Status.UNKNOWN,
                processed_at=timezone.now(),
                last_error="",
                next_attempt_at=None,
                locked_until=None,
            )
            if not finished:
                raise LeaseLost(event.pk)
    except LeaseLost:
        log.warning("webhook event %s was taken over by another worker; its run was rolled back", event.pk)
    except Exception as exc:
        log.exception("webhook event %s (%s) failed", event.pk, event.type)
        WebhookEvent.objects.filter(pk=event.pk, status=Status.PROCESSING, locked_until=event.locked_until).update(
            status=Status.FAILED,
            last_error=f"{type(exc).__name__}: {exc}"[:4000],
            next_attempt_at=timezone.now() + backoff(event.attempts),
            locked_until=None,
        )


def sweep(*, now=None) -> list[tuple[int, str]]:
    """Release expired leases and list the sources that have due events nobody is working on.

    Safe to run from several beats at once: releasing is a conditional UPDATE and processing claims.
    """
    now = now or timezone.now()
    expired = WebhookEvent.objects.filter(status=Status.PROCESSING, locked_until__lt=now)
    lost = WORKER_LOST
    expired.filter(attempts__lt=MAX_ATTEMPTS).update(status=Status.PENDING, last_error=lost, locked_until=None)
    expired.update(status=Status.FAILED, last_error=lost, locked_until=None)  # it keeps killing workers
    due = Q(status=Status.PENDING, received_at__lt=now - PENDING_GRACE) | Q(
        status=Status.FAILED, next_attempt_at__lte=now, attempts__lt=MAX_ATTEMPTS
    )
    return list(WebhookEvent.objects.filter(due).values_list("channel_id", "source_id").distinct().order_by()[:1000])


@transaction.atomic
def rerun(event: WebhookEvent) -> None:
    """Make an event due again now (an admin asked); handlers are idempotent, so done events may re-run."""
    WebhookEvent.objects.filter(pk=event.pk).exclude(status=Status.PROCESSING).update(
        status=Status.PENDING, attempts=0, next_attempt_at=None, last_error="", locked_until=None
    )
    from ..tasks import process_webhook_sources

    process_webhook_sources.delay_on_commit(event.channel_id, [event.source_id])
