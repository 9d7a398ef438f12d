"""Finishing, narrowcast progress, and the sweeper that puts every stuck campaign back on its feet."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.services import line_client
from lineapi import LineAPIError

from .. import conf
from ..models import BatchState, Campaign, CampaignState, Delivery, DeliveryBatch
from ..services import event
from .leases import ACTIVE, leases_expired_release
from .start import campaign_start, due_campaign_pks

log = logging.getLogger(__name__)


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
    if campaign.delivery in (Delivery.MULTICAST, Delivery.PUSH) and campaign.accepted_count:
        from ..tasks import log_campaign_in_threads

        # After the last batch, not per batch: writing the threads never competes with sending.
        log_campaign_in_threads.delay_on_commit(campaign.pk)
    return True


def campaign_log_in_threads(*, campaign_pk: int) -> int:
    """Write the campaign's messages into each recipient's thread (idempotent; see messaging.campaign_log).

    Multicast and personalised push name their recipients; broadcast and narrowcast recipients are chosen by
    LINE, so those campaigns stay on their own page rather than in threads.
    """
    from messaging.campaign_log import campaign_sends_log

    campaign = Campaign.objects.get(pk=campaign_pk)
    if campaign.threads_logged_at is not None:
        return 0
    via = "push" if campaign.delivery == Delivery.PUSH else "multicast"
    written = 0
    batches = campaign.batches.filter(state=BatchState.ACCEPTED).order_by("pk")
    rows = batches.only("user_ids", "accepted_at", "accepted_request_id", "error").iterator(chunk_size=50)
    for n, batch in enumerate(rows):
        if n % 50 == 0:  # alive: the sweeper leaves a thread log that is still at work alone
            Campaign.objects.filter(pk=campaign_pk).update(kicked_at=timezone.now())
        failed = {f.get("user_id") for f in (batch.error or {}).get("failures", []) if isinstance(f, dict)}
        written += campaign_sends_log(
            channel_id=campaign.channel_id, campaign_id=campaign.pk,
            user_ids=[uid for uid in batch.user_ids if uid not in failed], messages=campaign.messages, via=via,
            sent_at=batch.accepted_at or campaign.finished_at or timezone.now(),
            request_id=batch.accepted_request_id, personalize=campaign.personalize,
        )
    Campaign.objects.filter(pk=campaign_pk).update(threads_logged_at=timezone.now())
    return written


def _relog_unlogged_threads(now, lease: timedelta) -> list[int]:
    """Queue the thread log again for finished campaigns whose log task was lost (a killed worker, a lost
    message): at most once a lease, and never while a log task stamps the campaign as alive."""
    from ..tasks import log_campaign_in_threads

    stale = now - lease
    idle = Q(kicked_at__isnull=True) | Q(kicked_at__lt=stale)  # no log task has stamped it for a lease
    candidates = Campaign.objects.filter(
        idle, state__in=(CampaignState.DONE, CampaignState.FAILED), delivery__in=(Delivery.MULTICAST, Delivery.PUSH),
        accepted_count__gt=0, threads_logged_at__isnull=True, finished_at__lt=stale,
    ).values_list("pk", flat=True)[:100]
    queued = []
    for pk in candidates:
        # Claimed with a conditional UPDATE, so two sweepers at once queue it once.
        if Campaign.objects.filter(idle, pk=pk).update(kicked_at=now):
            log_campaign_in_threads.delay_on_commit(pk)
            queued.append(pk)
    return queued


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
    """Restore every campaign a lost task or a killed worker left behind; safe to run any time, twice at once.

    * due campaigns still "scheduled" (their start task died with a worker) are started here;
    * batches whose lease ran out go back to pending;
    * a sending campaign whose freezer or senders stopped stamping their heartbeat gets them queued again,
      at most once per lease (a queued task that is merely waiting is not multiplied);
    * complete campaigns are finished;
    * finished multicast and push campaigns whose thread log was lost get it queued again.
    """
    now = timezone.now()
    lease = timedelta(seconds=conf.lease_seconds())
    started = [pk for pk in due_campaign_pks(now, grace_seconds=lease.total_seconds()) if _start(pk)]
    released = leases_expired_release(now)
    restarted = []
    for campaign in Campaign.objects.filter(state=CampaignState.SENDING).only(
            "pk", "frozen", "delivery", "freezer_seen_at", "senders_seen_at", "kicked_at"):
        if _restart_if_stalled(campaign, now, lease, expired={c for _pk, c in released}):
            restarted.append(campaign.pk)
    relogged = _relog_unlogged_threads(now, lease)
    return {"started": started, "released": len(released), "restarted": restarted, "relogged": relogged}


def _start(pk: int) -> bool:
    try:
        return campaign_start(campaign_pk=pk)
    except Exception:  # one campaign's trouble (LINE unreachable for the quota) must not stop the sweep
        log.exception("sweeper could not start campaign %s", pk)
        return False


def _restart_if_stalled(campaign: Campaign, now, lease: timedelta, *, expired: set[int]) -> bool:
    from ..tasks import enqueue_senders, freeze_campaign

    def stale(stamp) -> bool:
        return stamp is None or stamp < now - lease

    recently_kicked = not stale(campaign.kicked_at)
    kicked = False
    if not campaign.frozen and stale(campaign.freezer_seen_at) and not recently_kicked:
        freeze_campaign.delay(campaign.pk)
        kicked = True
    due = DeliveryBatch.objects.filter(Q(campaign_id=campaign.pk) & (
        Q(state=BatchState.PENDING, next_attempt_at__lte=now) | Q(state=BatchState.CLAIMED, claimed_until__lt=now)
    )).exists()
    # Senders at work hold leases under their own claim token: top them up to the configured number when
    # some died (a killed worker takes its senders along; the survivors carry on, with less parallelism).
    missing = senders_wanted(campaign.delivery) - live_senders(campaign.pk, now)
    if due and missing > 0 and (not recently_kicked or campaign.pk in expired):
        enqueue_senders(campaign.pk, campaign.delivery, count=missing)
        kicked = True
    if kicked:
        Campaign.objects.filter(pk=campaign.pk).update(kicked_at=now)
    elif campaign.frozen and not DeliveryBatch.objects.filter(campaign_id=campaign.pk, state__in=ACTIVE).exists():
        campaign_finish_if_complete(campaign_pk=campaign.pk)
    return kicked


def senders_wanted(kind: str) -> int:
    return 1 if kind in (Delivery.BROADCAST, Delivery.NARROWCAST) else conf.senders_per_campaign()


def live_senders(campaign_pk: int, now) -> int:
    return (DeliveryBatch.objects.filter(campaign_id=campaign_pk, state=BatchState.CLAIMED, claimed_until__gte=now)
            .values("claim_token").distinct().count())
