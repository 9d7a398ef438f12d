"""The delivery engine: start a due campaign once, freeze its audience into batches, send them through the
shared rate limiter, and recover from anything (killed workers, dropped responses, 429s, 5xx).

Exactly once comes from two rules: a batch's retry key is stored with the batch before its first request and
every attempt reuses it (LINE answers 409 to a key it already accepted, which counts as accepted), and a
batch is only marked accepted after LINE said 200/202/409. At least once comes from the lease: a batch
claimed by a worker that died is put back by the sweeper when its lease expires.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Max, Min, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.services import line_client
from lineapi import LineAPIError

from . import conf
from .audiences import segment_friends
from .models import (
    BATCH_SIZE,
    AudienceKind,
    BatchState,
    Campaign,
    CampaignState,
    Delivery,
    DeliveryBatch,
    PauseReason,
)
from .quota import quota_check
from .ratelimit import limiter, limiter_key
from .services import campaign_pause, event
from .validation import delivery_for

log = logging.getLogger(__name__)

ACTIVE = (BatchState.PENDING, BatchState.CLAIMED)


# -- start ----------------------------------------------------------------------------------


def campaign_start(*, campaign_pk: int) -> bool:
    """Move a due scheduled campaign to sending, once: the conditional UPDATE lets only one caller win,
    however many beats or workers try at the same moment. Returns True for the winner."""
    campaign = Campaign.objects.select_related("channel").get(pk=campaign_pk)
    if campaign.state != CampaignState.SCHEDULED:
        return False
    quota = None
    if not campaign.quota_override:
        # Read LINE's quota outside the transaction (an HTTP call must not hold the database lock).
        quota = quota_check(channel=campaign.channel, client=line_client(campaign.channel),
                            reach=campaign.estimated_reach or 0, exclude_pk=campaign.pk)
    now = timezone.now()
    with transaction.atomic():
        won = Campaign.objects.filter(pk=campaign_pk, state=CampaignState.SCHEDULED, scheduled_at__lte=now).update(
            state=CampaignState.SENDING, started_at=now, updated_at=now,
            delivery=delivery_for(campaign.audience_kind, campaign.personalize),
        )
        if not won:
            return False
        campaign.refresh_from_db()
        if campaign.audience_kind == AudienceKind.SEGMENT:
            # Friends who follow after this moment are not part of the frozen audience.
            from messaging.models import Friend

            top = Friend.objects.filter(channel=campaign.channel).aggregate(m=Max("pk"))["m"]
            Campaign.objects.filter(pk=campaign.pk).update(freeze_max_pk=top or 0)
        event(campaign, "started", _("Sending started."))
        if quota is not None and not quota.ok:
            campaign_pause(campaign=campaign, actor=None, reason=PauseReason.QUOTA, note=quota.message)
            _tell_marketer(campaign, quota.message)
            return True
        from .tasks import freeze_campaign

        freeze_campaign.delay_on_commit(campaign.pk)
    return True


def due_campaign_pks(now=None) -> list[int]:
    now = now or timezone.now()
    return list(Campaign.objects.filter(state=CampaignState.SCHEDULED, scheduled_at__lte=now)
                .order_by("scheduled_at").values_list("pk", flat=True)[:100])


# -- freeze ---------------------------------------------------------------------------------


@transaction.atomic
def campaign_freeze_step(*, campaign_pk: int) -> tuple[int, bool]:
    """Create the next chunk of batches; returns (batches created, audience fully frozen).

    The campaign row is locked and the cursor advances in the same transaction as the inserts, so two
    freezers (a redelivered task, the sweeper) never create the same batch twice.
    """
    campaign = Campaign.objects.select_for_update().get(pk=campaign_pk)
    if campaign.frozen:
        return 0, True
    if campaign.state not in (CampaignState.SENDING, CampaignState.PAUSED):
        return 0, True
    seq = campaign.batches.count()
    if campaign.delivery in (Delivery.BROADCAST, Delivery.NARROWCAST):
        DeliveryBatch.objects.create(campaign=campaign, seq=0, kind=campaign.delivery, size=0)
        campaign.frozen, campaign.recipients_count = True, campaign.estimated_reach or 0
        campaign.save(update_fields=["frozen", "recipients_count", "updated_at"])
        return 1, True
    limit = conf.freeze_chunk() * BATCH_SIZE
    if campaign.audience_kind == AudienceKind.LIST:
        ids = list(campaign.audience.get("user_ids") or [])[campaign.freeze_cursor: campaign.freeze_cursor + limit]
        cursor = campaign.freeze_cursor + len(ids)
    else:
        rows = list(
            segment_friends(campaign.channel, campaign.audience)
            .filter(pk__gt=campaign.freeze_cursor, pk__lte=campaign.freeze_max_pk or 0)
            .order_by("pk").values_list("pk", "user_id")[:limit]
        )
        ids = [user_id for _pk, user_id in rows]
        cursor = rows[-1][0] if rows else campaign.freeze_cursor
    batches = [
        DeliveryBatch(campaign=campaign, seq=seq + i, kind=campaign.delivery,
                      user_ids=ids[start:start + BATCH_SIZE], size=len(ids[start:start + BATCH_SIZE]))
        for i, start in enumerate(range(0, len(ids), BATCH_SIZE))
    ]
    DeliveryBatch.objects.bulk_create(batches)
    campaign.freeze_cursor = cursor
    campaign.recipients_count += len(ids)
    campaign.frozen = len(ids) < limit
    campaign.save(update_fields=["freeze_cursor", "recipients_count", "frozen", "updated_at"])
    return len(batches), campaign.frozen


# -- claim and send --------------------------------------------------------------------------


def batch_claim(*, campaign_pk: int) -> DeliveryBatch | None:
    """Lease the next due batch of a sending campaign (skip_locked on PostgreSQL; SQLite serialises writers)."""
    for _attempt in range(5):
        now = timezone.now()
        with transaction.atomic():
            batch = (DeliveryBatch.objects.select_for_update(skip_locked=True)
                     .filter(campaign_id=campaign_pk, state=BatchState.PENDING, next_attempt_at__lte=now)
                     .order_by("seq").first())
            if batch is None:
                return None
            token = uuid.uuid4()
            won = DeliveryBatch.objects.filter(pk=batch.pk, state=BatchState.PENDING).update(
                state=BatchState.CLAIMED, claim_token=token, attempts=F("attempts") + 1,
                claimed_until=now + timedelta(seconds=conf.lease_seconds()),
                first_attempt_at=Coalesce("first_attempt_at", now),
            )
        if won:
            batch.state, batch.claim_token = BatchState.CLAIMED, token
            batch.attempts += 1
            batch.first_attempt_at = batch.first_attempt_at or now
            return batch
    return None


def _release(batch: DeliveryBatch, *, delay: float, error: dict | None = None) -> None:
    """Give the batch back for a later attempt with the same retry key."""
    DeliveryBatch.objects.filter(pk=batch.pk, state=BatchState.CLAIMED, claim_token=batch.claim_token).update(
        state=BatchState.PENDING, claim_token=None, claimed_until=None, error=error,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
    )


def _accept(batch: DeliveryBatch, *, request_id: str | None, accepted: int, failed: int = 0,
            error: dict | None = None) -> None:
    DeliveryBatch.objects.filter(pk=batch.pk, state__in=ACTIVE).update(
        state=BatchState.ACCEPTED, accepted_at=timezone.now(), accepted_request_id=request_id or "",
        accepted_count=accepted, failed_count=failed, claim_token=None, claimed_until=None, error=error,
    )


def _fail(batch: DeliveryBatch, error: dict) -> None:
    DeliveryBatch.objects.filter(pk=batch.pk, state__in=ACTIVE).update(
        state=BatchState.FAILED, failed_count=batch.size, claim_token=None, claimed_until=None, error=error,
    )


def _backoff(attempts: int) -> float:
    return float(min(2 ** max(0, attempts - 1), 30))


def _reason(exc: LineAPIError) -> dict:
    return {"status": exc.status, "kind": exc.kind, "message": exc.message, "details": exc.details[:20]}


def personalised(messages: list, name: str) -> list:
    """Messages with ``{name}`` in text replaced by the friend's display name."""
    out = copy.deepcopy(messages)
    for message in out:
        if message.get("type") == "text" and "{name}" in message.get("text", ""):
            message["text"] = message["text"].replace("{name}", name)
    return out


class Outcome:
    SENT, RETRY, FAILED, QUOTA, AUTH, SKIPPED = "sent", "retry", "failed", "quota", "auth", "skipped"


def batch_send(*, batch: DeliveryBatch, campaign: Campaign, client) -> str:
    """One attempt at one batch. Never raises for LINE errors: the batch row records the outcome."""
    if batch.first_attempt_at and timezone.now() - batch.first_attempt_at > timedelta(
            seconds=conf.retry_key_max_age_seconds()):
        _fail(batch, {"kind": "expired", "message": _("LINE forgets a retry key after 24 hours; "
                                                       "this batch was not retried to avoid duplicates.")})
        return Outcome.FAILED
    if batch.kind == Delivery.PUSH:
        return _send_pushes(batch=batch, campaign=campaign, client=client)
    key = limiter_key(campaign.channel.channel_id, batch.kind)
    if not limiter().acquire(key, 1, timeout=conf.lease_seconds() / 3):
        _release(batch, delay=1)
        return Outcome.SKIPPED
    try:
        result = _request(batch=batch, campaign=campaign, client=client)
    except LineAPIError as exc:
        return _on_error(batch, campaign, exc)
    request_id = result.accepted_request_id or result.request_id
    if batch.kind in (Delivery.BROADCAST, Delivery.NARROWCAST):
        Campaign.objects.filter(pk=campaign.pk).update(line_request_id=request_id or "",
                                                       narrowcast_phase="waiting" if batch.kind == Delivery.NARROWCAST
                                                       else "")
    _accept(batch, request_id=request_id, accepted=batch.size)
    return Outcome.SENT


def _request(*, batch: DeliveryBatch, campaign: Campaign, client):
    common = {"retry_key": batch.retry_key, "notification_disabled": campaign.notification_disabled}
    if batch.kind == Delivery.MULTICAST:
        return client.multicast(batch.user_ids, campaign.messages, custom_aggregation_units=[campaign.unit_name],
                                **common)
    if batch.kind == Delivery.BROADCAST:
        return client.broadcast(campaign.messages, **common)
    spec = campaign.audience or {}
    limit = {"max": int(spec["max"])} if spec.get("max") else None
    return client.narrowcast(campaign.messages, filter=spec.get("filter") or None, limit=limit, **common)


def _on_error(batch: DeliveryBatch, campaign: Campaign, exc: LineAPIError) -> str:
    if exc.kind == "quota":
        _release(batch, delay=0, error=_reason(exc))
        note = _("LINE's monthly message limit was reached; the campaign is paused. "
                 "Resume it when the quota allows (an admin can override).")
        if campaign_pause(campaign=campaign, actor=None, reason=PauseReason.QUOTA, note=note):
            _tell_marketer(campaign, note)
        return Outcome.QUOTA
    if exc.kind == "auth":
        _release(batch, delay=0, error=_reason(exc))
        campaign_pause(campaign=campaign, actor=None, reason=PauseReason.AUTH,
                       note=_("LINE refused the access token: %(message)s") % {"message": exc.message})
        return Outcome.AUTH
    if exc.kind == "rate_limit":
        # Somebody else (another app, OA Manager) is using the same budget: wait and try the same key again.
        _release(batch, delay=exc.retry_after or 1.0, error=_reason(exc))
        time.sleep(min(exc.retry_after or 1.0, 5))
        return Outcome.RETRY
    if exc.retryable:
        _release(batch, delay=_backoff(batch.attempts), error=_reason(exc))
        return Outcome.RETRY
    _fail(batch, _reason(exc))
    return Outcome.FAILED


def _send_pushes(*, batch: DeliveryBatch, campaign: Campaign, client) -> str:
    """Personalised: one push per friend, each with its own key derived from the batch's stored key.

    Rate-limit tokens are taken here, a few at a time, and only HTTP runs in the threads (no database).
    """
    from messaging.models import Friend

    names = dict(Friend.objects.filter(channel=campaign.channel, user_id__in=batch.user_ids)
                 .values_list("user_id", "display_name"))
    key = limiter_key(campaign.channel.channel_id, "push")
    stop = threading.Event()

    def push_one(user_id: str):
        if stop.is_set():
            return "retry", None
        try:
            client.push(user_id, personalised(campaign.messages, names.get(user_id) or ""),
                        retry_key=uuid.uuid5(batch.retry_key, user_id),
                        notification_disabled=campaign.notification_disabled,
                        custom_aggregation_units=[campaign.unit_name])
        except LineAPIError as exc:
            if exc.kind in ("quota", "auth"):
                stop.set()
            return ("retry" if exc.retryable else exc.kind if exc.kind in ("quota", "auth") else "failed"), exc
        return "sent", None

    futures = []
    with ThreadPoolExecutor(max_workers=conf.push_threads()) as pool:
        for start in range(0, len(batch.user_ids), PUSH_TOKEN_CHUNK):
            chunk = batch.user_ids[start:start + PUSH_TOKEN_CHUNK]
            if stop.is_set() or not limiter().acquire(key, len(chunk), timeout=conf.lease_seconds() / 3):
                stop.set()
                futures.extend(pool.submit(lambda: ("retry", None)) for _u in chunk)
                continue
            futures.extend(pool.submit(push_one, uid) for uid in chunk)
        results = [f.result() for f in futures]
    kinds = [k for k, _e in results]
    for bad in ("quota", "auth", "retry"):
        if bad in kinds:
            # Resend the whole batch later: friends already reached get 409 for their key, nobody gets two.
            exc = next(e for k, e in results if k == bad)
            if exc is None:
                _release(batch, delay=1)
                return Outcome.RETRY
            return _on_error(batch, campaign, exc)
    failures = [{"user_id": uid, **_reason(e)} for uid, (k, e) in zip(batch.user_ids, results, strict=True)
                if k == "failed"]
    _accept(batch, request_id=None, accepted=kinds.count("sent"), failed=len(failures),
            error={"failures": failures[:20]} if failures else None)
    return Outcome.SENT


PUSH_TOKEN_CHUNK = 20


def campaign_send_loop(*, campaign_pk: int, budget_seconds: float = 240) -> str:
    """Claim and send batches until none is due; returns why it stopped ("done", "paused", "budget", "idle")."""
    campaign = Campaign.objects.select_related("channel").get(pk=campaign_pk)
    client = line_client(campaign.channel)
    deadline = time.monotonic() + budget_seconds
    idle_since = None
    while time.monotonic() < deadline:
        state, frozen = Campaign.objects.filter(pk=campaign_pk).values_list("state", "frozen").get()
        if state != CampaignState.SENDING:
            return "paused"
        batch = batch_claim(campaign_pk=campaign_pk)
        if batch is None:
            idle_since = idle_since or time.monotonic()
            wait = _idle_wait(campaign_pk, frozen)
            if wait is None or time.monotonic() - idle_since > 15:
                campaign_finish_if_complete(campaign_pk=campaign_pk)
                return "idle"
            time.sleep(wait)
            continue
        idle_since = None
        outcome = batch_send(batch=batch, campaign=campaign, client=client)
        if outcome in (Outcome.QUOTA, Outcome.AUTH):
            return "paused"
    return "budget"


def _idle_wait(campaign_pk: int, frozen: bool) -> float | None:
    """How long to wait for more work, or None when this sender should stop."""
    if not frozen:
        return 0.05  # the freezer is still adding batches
    nxt = (DeliveryBatch.objects.filter(campaign_id=campaign_pk, state=BatchState.PENDING)
           .aggregate(n=Min("next_attempt_at"))["n"])
    if nxt is None:
        return None
    delay = (nxt - timezone.now()).total_seconds()
    return max(0.05, delay) if delay < 10 else None


# -- finish, narrowcast progress, sweeper --------------------------------------------------------


@transaction.atomic
def campaign_finish_if_complete(*, campaign_pk: int) -> bool:
    campaign = Campaign.objects.select_for_update().get(pk=campaign_pk)
    if campaign.state != CampaignState.SENDING or not campaign.frozen:
        return False
    if campaign.delivery == Delivery.NARROWCAST and campaign.narrowcast_phase not in ("succeeded", "failed"):
        return False
    if campaign.batches.filter(state__in=ACTIVE).exists():
        return False
    if campaign.delivery != Delivery.NARROWCAST:
        totals = campaign.batches.aggregate(a=Sum("accepted_count"), f=Sum("failed_count"))
        campaign.accepted_count, campaign.failed_count = totals["a"] or 0, totals["f"] or 0
        if campaign.delivery == Delivery.BROADCAST and campaign.batches.filter(state=BatchState.ACCEPTED).exists():
            campaign.accepted_count = campaign.recipients_count
    failed = campaign.accepted_count == 0 and (campaign.failed_count > 0 or campaign.narrowcast_phase == "failed"
                                               or campaign.batches.filter(state=BatchState.FAILED).exists())
    campaign.state = CampaignState.FAILED if failed else CampaignState.DONE
    campaign.finished_at = timezone.now()
    campaign.save(update_fields=["state", "finished_at", "accepted_count", "failed_count", "updated_at"])
    event(campaign, campaign.state, _("%(accepted)s accepted, %(failed)s failed.") % {
        "accepted": campaign.accepted_count, "failed": campaign.failed_count}, alert=failed)
    return True


def narrowcast_poll(*, campaign_pk: int) -> str:
    campaign = Campaign.objects.select_related("channel").get(pk=campaign_pk)
    if campaign.state != CampaignState.SENDING or not campaign.line_request_id:
        return campaign.narrowcast_phase
    try:
        progress = line_client(campaign.channel).narrowcast_progress(campaign.line_request_id)
    except LineAPIError as exc:
        log.warning("narrowcast progress of campaign %s: %s", campaign_pk, exc)
        return campaign.narrowcast_phase
    Campaign.objects.filter(pk=campaign_pk).update(
        narrowcast_phase=progress.phase, recipients_count=progress.target_count or campaign.recipients_count,
        accepted_count=progress.success_count or 0, failed_count=progress.failure_count or 0,
        status_note=progress.failed_description or "",
    )
    if progress.phase in ("succeeded", "failed"):
        campaign_finish_if_complete(campaign_pk=campaign_pk)
    return progress.phase


def deliveries_sweep() -> dict:
    """Put expired leases back, restart stalled freezers and senders, finish what is complete."""
    from .tasks import freeze_campaign, send_campaign

    now = timezone.now()
    expired = list(DeliveryBatch.objects.filter(state=BatchState.CLAIMED, claimed_until__lt=now)
                   .values_list("pk", "campaign_id"))
    released = DeliveryBatch.objects.filter(pk__in=[pk for pk, _c in expired], state=BatchState.CLAIMED,
                                            claimed_until__lt=now).update(
        state=BatchState.PENDING, claim_token=None, claimed_until=None, next_attempt_at=now)
    touched = {c for _pk, c in expired}
    restarted = []
    for campaign in Campaign.objects.filter(state=CampaignState.SENDING).only("pk", "frozen", "updated_at"):
        if not campaign.frozen:
            freeze_campaign.delay(campaign.pk)
            restarted.append(campaign.pk)
            continue
        working = DeliveryBatch.objects.filter(campaign_id=campaign.pk, state=BatchState.CLAIMED).exists()
        due = DeliveryBatch.objects.filter(campaign_id=campaign.pk, state=BatchState.PENDING,
                                           next_attempt_at__lte=now).exists()
        if due and (campaign.pk in touched or not working):
            for _i in range(conf.senders_per_campaign()):
                send_campaign.delay(campaign.pk)
            restarted.append(campaign.pk)
        elif not due and not working:
            campaign_finish_if_complete(campaign_pk=campaign.pk)
    return {"released": released, "restarted": restarted}


def _tell_marketer(campaign: Campaign, note: str) -> None:
    """The campaign page shows the alert; the creator also gets an e-mail when they have an address."""
    user = campaign.created_by
    if user is not None and user.email:
        send_mail(_("Campaign paused: %(name)s") % {"name": campaign.name}, note, None, [user.email],
                  fail_silently=True)
