"""Reads for the campaign pages, the API and the dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from .models import BatchState, Campaign, CampaignState, ChannelDailyStats, Delivery


def campaigns_for(channel, *, state: str | None = None) -> QuerySet[Campaign]:
    qs = Campaign.objects.filter(channel=channel).select_related("created_by", "approved_by")
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("-created_at", "-pk")


@dataclass
class Progress:
    recipients: int
    accepted: int
    failed: int
    pending: int
    percent_accepted: float
    percent_failed: float
    live: bool


def campaign_progress(campaign: Campaign) -> Progress:
    """Accepted / pending / failed right now (from the batches while sending, else the campaign's totals)."""
    recipients = campaign.recipients_count or campaign.estimated_reach or 0
    accepted, failed = campaign.accepted_count, campaign.failed_count
    if campaign.state in (CampaignState.SENDING, CampaignState.PAUSED) and campaign.delivery in (
            Delivery.MULTICAST, Delivery.PUSH):
        totals = campaign.batches.aggregate(a=Sum("accepted_count", filter=Q(state=BatchState.ACCEPTED)),
                                            f=Sum("failed_count", filter=Q(state__in=[BatchState.ACCEPTED,
                                                                                      BatchState.FAILED])))
        accepted, failed = totals["a"] or 0, totals["f"] or 0
    pending = max(0, recipients - accepted - failed)
    base = max(recipients, 1)
    return Progress(recipients, accepted, failed, pending, round(100 * accepted / base, 1),
                    round(100 * failed / base, 1), campaign.state == CampaignState.SENDING)


def failure_reasons(campaign: Campaign, limit: int = 10) -> list[dict]:
    """LINE's reasons for failed batches (and individual failed pushes)."""
    out = []
    for error in campaign.batches.exclude(error=None).filter(
            state__in=[BatchState.FAILED, BatchState.ACCEPTED]).values_list("error", flat=True)[:limit]:
        if error.get("failures"):
            out.extend(error["failures"][:3])
        else:
            out.append(error)
    return out[:limit]


def campaign_alerts(channel) -> QuerySet:
    from .models import CampaignEvent

    return CampaignEvent.objects.filter(campaign__channel=channel, is_alert=True,
                                        created_at__gte=timezone.now() - timedelta(days=7)).select_related("campaign")


def dashboard(channel, days: int = 30) -> dict:
    """Friends over time, messages sent by type per day, quota used: series for the charts."""
    since = timezone.localdate() - timedelta(days=days)
    rows = list(ChannelDailyStats.objects.filter(channel=channel, date__gte=since).order_by("date"))
    ours = (Campaign.objects.filter(channel=channel, started_at__date__gte=since)
            .annotate(day=TruncDate("started_at")).values("day", "delivery")
            .annotate(n=Sum("accepted_count"), c=Count("pk")).order_by("day"))
    return {
        "followers": [(r.date, r.followers) for r in rows if r.followers is not None],
        "blocks": [(r.date, r.blocks) for r in rows if r.blocks is not None],
        "sent_by_type": [(r.date, r.sent_by_type) for r in rows],
        "quota_used": rows[-1].quota_used if rows else None,
        "campaign_sends": list(ours),
    }
