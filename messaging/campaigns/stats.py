"""LINE's statistics, pulled by beat once LINE has them, within LINE's own rate limits (60/hour per call).

* per campaign: interaction statistics per aggregation unit (multicast, push) or per request ID (broadcast,
  narrowcast), fetched daily for 14 days after sending (LINE keeps updating them that long);
* per channel and day (UTC+9): followers / targeted reaches / blocks, messages sent by type, quota used.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.db import transaction
from django.utils import timezone

from accounts.models import Channel
from accounts.services import line_client
from lineapi import LineAPIError

from .models import Campaign, CampaignState, CampaignStatistics, ChannelDailyStats, Delivery
from .ratelimit import limiter, limiter_key

log = logging.getLogger(__name__)

JST = dt_timezone(timedelta(hours=9))
FOLLOW_UP_DAYS = 14
SENT_TYPES = ("apiBroadcast", "apiPush", "apiMulticast", "apiNarrowcast", "apiReply", "broadcast", "chat")


def _allowed(channel: Channel, endpoint: str) -> bool:
    """Take one of LINE's insight requests now, or skip this round (beat comes back later)."""
    return limiter().try_acquire(limiter_key(channel.channel_id, endpoint)) <= 0


def campaign_statistics_pull(*, campaign: Campaign) -> CampaignStatistics | None:
    stats, _ = CampaignStatistics.objects.get_or_create(campaign=campaign)
    client = line_client(campaign.channel)
    try:
        if campaign.delivery in (Delivery.BROADCAST, Delivery.NARROWCAST):
            if not campaign.line_request_id or not _allowed(campaign.channel, "insight_message_event"):
                return None
            data = client.get_insight_message_event(campaign.line_request_id)
        else:
            if not _allowed(campaign.channel, "statistics_per_unit"):
                return None
            start = timezone.localtime(campaign.started_at or campaign.created_at, JST).date()
            data = client.get_statistics_per_unit(campaign.unit_name, date_from=start,
                                                  date_to=min(start + timedelta(days=29), _today_jst()))
    except LineAPIError as exc:
        log.info("statistics of campaign %s not available: %s", campaign.pk, exc)
        data = {"error": exc.to_dict()}
    overview = data.get("overview") or {}
    stats.delivered = overview.get("delivered")
    stats.unique_impression = overview.get("uniqueImpression")
    stats.unique_click = overview.get("uniqueClick")
    stats.data = data
    stats.fetched_at = timezone.now()
    stats.fetch_count += 1
    stats.next_fetch_at = timezone.now() + timedelta(days=1)
    stats.save()
    return stats


def _today_jst():
    return datetime.now(JST).date()


@transaction.atomic
def channel_day_pull(*, channel: Channel, date=None) -> ChannelDailyStats:
    """Followers, sends by type and quota use for one JST day (yesterday by default: today is never ready)."""
    date = date or _today_jst() - timedelta(days=1)
    row, _ = ChannelDailyStats.objects.get_or_create(channel=channel, date=date)
    client = line_client(channel)
    try:
        if _allowed(channel, "insight_followers"):
            followers = client.get_insight_followers(date)
            row.followers = followers.get("followers")
            row.targeted_reaches = followers.get("targetedReaches")
            row.blocks = followers.get("blocks")
        if _allowed(channel, "insight_message_delivery"):
            sent = client.get_insight_message_delivery(date)
            row.sent_by_type = {k: sent[k] for k in SENT_TYPES if sent.get(k) is not None}
        row.quota_used = client.get_quota_consumption()
    except LineAPIError as exc:
        log.info("daily statistics of channel %s not available: %s", channel.pk, exc)
    row.fetched_at = timezone.now()
    row.save()
    return row


def statistics_pull_due() -> None:
    now = timezone.now()
    window = now - timedelta(days=FOLLOW_UP_DAYS)
    campaigns = Campaign.objects.filter(state=CampaignState.DONE, finished_at__gte=window).select_related("channel")
    for campaign in campaigns:
        stats = CampaignStatistics.objects.filter(campaign=campaign).first()
        if stats is None or stats.next_fetch_at <= now:
            campaign_statistics_pull(campaign=campaign)
    yesterday = _today_jst() - timedelta(days=1)
    for channel in Channel.objects.filter(is_active=True):
        if not ChannelDailyStats.objects.filter(channel=channel, date=yesterday, followers__isnull=False).exists():
            channel_day_pull(channel=channel, date=yesterday)
