"""Batch leases: who may send a batch right now, and the outcome rows a sender writes back.

A sender claims batches with one claim token and a short lease (``claimed_until``) that it renews while it
works (``leases_renew``, the heartbeat). A batch whose lease ran out belonged to a sender that died or hung;
any sender may claim it again, and the sweeper puts it back in any case. Handing a batch on is always safe:
the next attempt sends the same stored retry key, which LINE answers with 409 (already accepted) if an earlier
attempt got through. Nothing is ever sent with a new key.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from .. import conf
from ..models import BatchState, Campaign, CampaignState, DeliveryBatch

ACTIVE = (BatchState.PENDING, BatchState.CLAIMED)


def claimable(campaign_pk: int, now) -> Q:
    """Due pending batches, and claimed ones whose holder stopped renewing the lease."""
    return Q(campaign_id=campaign_pk) & (
        Q(state=BatchState.PENDING, next_attempt_at__lte=now) | Q(state=BatchState.CLAIMED, claimed_until__lt=now)
    )


def batches_claim(*, campaign_pk: int, token: uuid.UUID, limit: int) -> list[DeliveryBatch]:
    """Lease up to ``limit`` batches, lowest ``seq`` first, all under ``token``.

    Rows are locked with ``skip_locked`` on PostgreSQL (senders never wait for each other) and serialised by
    SQLite's write lock (``BEGIN IMMEDIATE``); three short statements, whatever ``limit`` is.
    """
    now = timezone.now()
    with transaction.atomic():
        pks = list(DeliveryBatch.objects.select_for_update(skip_locked=True).filter(claimable(campaign_pk, now))
                   .order_by("seq").values_list("pk", flat=True)[:limit])
        if not pks:
            return []
        DeliveryBatch.objects.filter(Q(pk__in=pks) & claimable(campaign_pk, now)).update(
            state=BatchState.CLAIMED, claim_token=token, attempts=F("attempts") + 1,
            claimed_until=now + timedelta(seconds=conf.lease_seconds()),
            first_attempt_at=Coalesce("first_attempt_at", Value(now)),
        )
        return list(DeliveryBatch.objects.filter(pk__in=pks, state=BatchState.CLAIMED, claim_token=token)
                    .order_by("seq"))


def batch_claim(*, campaign_pk: int) -> DeliveryBatch | None:
    """Lease the next due batch on its own (a sender normally claims several at once)."""
    claimed = batches_claim(campaign_pk=campaign_pk, token=uuid.uuid4(), limit=1)
    return claimed[0] if claimed else None


def leases_renew(*, campaign_pk: int, token: uuid.UUID) -> int:
    """The heartbeat: extend this sender's leases and mark the campaign's senders alive."""
    now = timezone.now()
    renewed = DeliveryBatch.objects.filter(campaign_id=campaign_pk, state=BatchState.CLAIMED, claim_token=token).update(
        claimed_until=now + timedelta(seconds=conf.lease_seconds()))
    Campaign.objects.filter(pk=campaign_pk).update(senders_seen_at=now)
    return renewed


def leases_expired_release(now=None) -> list[tuple[int, int]]:
    """Give every batch whose lease ran out back to the queue; returns their (pk, campaign pk)."""
    now = now or timezone.now()
    expired = list(DeliveryBatch.objects.filter(state=BatchState.CLAIMED, claimed_until__lt=now)
                   .values_list("pk", "campaign_id"))
    if expired:
        DeliveryBatch.objects.filter(pk__in=[pk for pk, _c in expired], state=BatchState.CLAIMED,
                                     claimed_until__lt=now).update(
            state=BatchState.PENDING, claim_token=None, claimed_until=None, next_attempt_at=now)
        # A campaign cancelled while the batch was out: it is not sent any more.
        DeliveryBatch.objects.filter(pk__in=[pk for pk, _c in expired], state=BatchState.PENDING,
                                     campaign__state=CampaignState.CANCELLED).update(state=BatchState.CANCELLED)
    return expired


# -- outcomes (only the lease holder writes them, except "accepted": LINE's word is final) ------------------


def batch_release(batch: DeliveryBatch, *, delay: float, error: dict | None = None) -> None:
    """Give the batch back for a later attempt with the same retry key."""
    DeliveryBatch.objects.filter(pk=batch.pk, state=BatchState.CLAIMED, claim_token=batch.claim_token).update(
        state=BatchState.PENDING, claim_token=None, claimed_until=None, error=error,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
    )


def batch_accept(batch: DeliveryBatch, *, request_id: str | None, accepted: int, failed: int = 0,
                 error: dict | None = None, at=None) -> None:
    DeliveryBatch.objects.filter(pk=batch.pk, state__in=ACTIVE).update(
        state=BatchState.ACCEPTED, accepted_at=at or timezone.now(), accepted_request_id=request_id or "",
        accepted_count=accepted, failed_count=failed, claim_token=None, claimed_until=None, error=error,
    )


def batch_fail(batch: DeliveryBatch, error: dict) -> None:
    DeliveryBatch.objects.filter(pk=batch.pk, state__in=ACTIVE).update(
        state=BatchState.FAILED, failed_count=batch.size, claim_token=None, claimed_until=None, error=error,
    )


def outcomes_record(writes: Iterable) -> None:
    """Write several outcomes in one transaction (one commit instead of one per batch)."""
    with transaction.atomic():
        for write in writes:
            write()
