"""Reads for the campaign pages, the API and the dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from .models import BatchState, Campaign, CampaignState, ChannelDailyStats, Delivery, DeliveryBatch


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

    @property
    def done(self) -> int:
        return self.accepted + self.failed

    @property
    def percent_done(self) -> float:
        return round(min(100.0, self.percent_accepted + self.percent_failed), 1)


def campaign_progress(campaign: Campaign) -> Progress:
    """Accepted / pending / failed right now (from the batches while sending, else the campaign's totals)."""
    recipients = campaign.recipients_count or campaign.estimated_reach or 0
    accepted, failed = campaign.accepted_count, campaign.failed_count
    if campaign.state in (CampaignState.SENDING, CampaignState.PAUSED) and campaign.delivery in (
        Delivery.MULTICAST,
        Delivery.PUSH,
    ):
        totals = campaign.batches.aggregate(
            a=Sum("accepted_count", filter=Q(state=BatchState.ACCEPTED)),
            f=Sum("failed_count", filter=Q(state__in=[BatchState.ACCEPTED, BatchState.FAILED])),
        )
        accepted, failed = totals["a"] or 0, totals["f"] or 0
    pending = max(0, recipients - accepted - failed)
    base = max(recipients, 1)
    return Progress(
        recipients,
        accepted,
        failed,
        pending,
        round(100 * accepted / base, 1),
        round(100 * failed / base, 1),
        campaign.state == CampaignState.SENDING,
    )


def failure_reasons(campaign: Campaign, limit: int = 10) -> list[dict]:
    """LINE's reasons for failed recipients, grouped: [{status, message, details, count, user_ids}], most first.

    A refused multicast fails its whole batch with one reason; personalised pushes fail one by one (the
    batch keeps the first 20 reasons, so the rest of its failures are counted under "other reasons").
    """
    groups: dict[tuple, dict] = {}

    def add(error: dict, count: int, user_id: str = "") -> None:
        details = tuple(
            (d.get("property") or "", d.get("message") or "") for d in error.get("details") or [] if isinstance(d, dict)
        )
        key = (error.get("status"), error.get("message") or error.get("kind") or "", details)
        group = groups.setdefault(
            key,
            {
                "status": key[0],
                "message": key[1],
                "kind": error.get("kind", ""),
                "details": [{"property": p, "message": m} for p, m in details],
                "count": 0,
                "user_ids": [],
            },
        )
        group["count"] += count
        if user_id and len(group["user_ids"]) < 5:
            group["user_ids"].append(user_id)

    rows = campaign.batches.filter(failed_count__gt=0).exclude(error=None).values_list("failed_count", "error")
    for failed, error in rows[:2000]:
        items = error.get("failures") if isinstance(error, dict) else None
        if items:
            for item in items:
                add(item, 1, item.get("user_id", ""))
            if failed > len(items):
                add({"message": ""}, failed - len(items))
        elif isinstance(error, dict):
            add(error, failed)
    if campaign.delivery == Delivery.NARROWCAST and campaign.failed_count and campaign.status_note:
        add({"message": campaign.status_note}, campaign.failed_count)
    return sorted(groups.values(), key=lambda g: -g["count"])[:limit]


def campaign_alerts(channel) -> QuerySet:
    from .models import CampaignEvent

    return CampaignEvent.objects.filter(
        campaign__channel=channel, is_alert=True, created_at__gte=timezone.now() - timedelta(days=7)
    ).select_related("campaign")


# -- the dashboard -------------------------------------------------------------------------------

SENT_TYPES = ("reply", "push", "multicast", "broadcast", "narrowcast")


@dataclass
class Days:
    """The days a dashboard shows, in the channel's time zone: ``first`` .. today."""

    days: list[date]
    start: datetime  # midnight at the start of the first day (aware)
    end: datetime  # midnight after today (aware)
    tz: tzinfo


def day_range(channel, days: int, *, now: datetime | None = None) -> Days:
    tz = channel.tz
    today = timezone.localtime(now or timezone.now(), tz).date()
    first = today - timedelta(days=days - 1)
    return Days(
        days=[first + timedelta(days=i) for i in range(days)],
        start=datetime.combine(first, time.min, tzinfo=tz),
        end=datetime.combine(today + timedelta(days=1), time.min, tzinfo=tz),
        tz=tz,
    )


def _by_day(rows, days: Days, value: str = "n") -> list[int]:
    counts: dict[date, int] = {}
    for row in rows:
        counts[row["day"]] = counts.get(row["day"], 0) + int(row[value] or 0)
    return [counts.get(d, 0) for d in days.days]


def follow_history(channel, days: Days) -> dict[str, list[int]]:
    """Per day (channel time zone), from our own follow history: followed, unblocked, blocked, and the
    number of friends at the end of each day (today's count walked back through the day's changes)."""
    from messaging.models import FollowEvent, Friend

    rows = list(
        FollowEvent.objects.filter(friend__channel=channel, at__gte=days.start, at__lt=days.end)
        .annotate(day=TruncDate("at", tzinfo=days.tz))
        .values("day", "kind")
        .annotate(n=Count("pk"))
    )
    out = {
        kind: _by_day([r for r in rows if r["kind"] == kind], days)
        for kind in (FollowEvent.Kind.FOLLOWED, FollowEvent.Kind.UNBLOCKED, FollowEvent.Kind.BLOCKED)
    }
    friends = Friend.objects.filter(channel=channel, is_following=True).count()
    later = FollowEvent.objects.filter(friend__channel=channel, at__gte=days.end).values("kind").annotate(n=Count("pk"))
    for row in later:  # events stamped after today (clock skew) already count in is_following
        friends -= row["n"] if row["kind"] != FollowEvent.Kind.BLOCKED else -row["n"]
    totals = []
    for i in range(len(days.days) - 1, -1, -1):
        totals.append(friends)
        friends -= out["followed"][i] + out["unblocked"][i] - out["blocked"][i]
    out["friends"] = totals[::-1]
    return out


def sent_by_type(channel, days: Days) -> dict[str, list[int]]:
    """Messages sent per day (channel time zone) by how they went, from our own log, counted as LINE
    counts them: one per recipient per send (a multicast to 500 friends is 500, whatever it carries).

    Inbox replies, pushes, auto-replies and greetings are the log's outbound rows (one per send: part 0);
    campaigns are their accepted delivery batches.
    """
    from messaging.models import Message

    out = {kind: [0] * len(days.days) for kind in SENT_TYPES}
    logged = (
        Message.objects.filter(
            channel=channel,
            direction=Message.Direction.OUTBOUND,
            delivery=Message.Delivery.SENT,
            part=0,
            via__in=SENT_TYPES,
            sent_at__gte=days.start,
            sent_at__lt=days.end,
        )
        .exclude(sender=Message.Sender.CAMPAIGN)
        .annotate(day=TruncDate("sent_at", tzinfo=days.tz))
        .values("day", "via")
        .annotate(n=Count("pk"))
    )
    batches = DeliveryBatch.objects.filter(
        campaign__channel=channel, state=BatchState.ACCEPTED, accepted_at__gte=days.start, accepted_at__lt=days.end
    ).annotate(day=TruncDate("accepted_at", tzinfo=days.tz))
    per_batch = (
        batches.filter(kind__in=[Delivery.MULTICAST, Delivery.PUSH])
        .values("day", "kind")
        .annotate(n=Sum("accepted_count"))
    )
    # Broadcast and narrowcast are one request each; LINE tells us (or we estimated) how many it reached.
    whole = batches.filter(kind__in=[Delivery.BROADCAST, Delivery.NARROWCAST]).values(
        "day", "kind", "campaign__accepted_count", "campaign__recipients_count"
    )
    index = {d: i for i, d in enumerate(days.days)}
    for row in logged:
        out[row["via"]][index[row["day"]]] += row["n"]
    for row in per_batch:
        out[row["kind"]][index[row["day"]]] += row["n"] or 0
    for row in whole:
        out[row["kind"]][index[row["day"]]] += row["campaign__accepted_count"] or row["campaign__recipients_count"] or 0
    return out


LINE_API_SENT = ("apiReply", "apiPush", "apiMulticast", "apiBroadcast", "apiNarrowcast")


def line_statistics(channel, days: Days) -> dict[str, list[int | None]] | None:
    """LINE's own daily figures (its days are in UTC+9) for the same dates, or None when none were pulled."""
    rows = {
        r.date: r
        for r in ChannelDailyStats.objects.filter(channel=channel, date__gte=days.days[0], date__lte=days.days[-1])
    }
    if not rows:
        return None

    def pick(fn):
        return [fn(rows[d]) if d in rows else None for d in days.days]

    def sent(r):
        values = [r.sent_by_type.get(k) for k in LINE_API_SENT if isinstance(r.sent_by_type, dict)]
        return sum(v for v in values if v is not None) if any(v is not None for v in values) else None

    return {
        "friends": pick(lambda r: r.followers - r.blocks if r.followers is not None and r.blocks is not None else None),
        "targeted_reaches": pick(lambda r: r.targeted_reaches),
        "followers": pick(lambda r: r.followers),
        "blocks": pick(lambda r: r.blocks),
        "sent": pick(sent),
    }


def campaigns_between(channel, days: Days) -> QuerySet[Campaign]:
    return Campaign.objects.filter(channel=channel, started_at__gte=days.start, started_at__lt=days.end).order_by(
        "-started_at", "-pk"
    )


def quota_month_usage(channel, *, now: datetime | None = None) -> tuple[Days, list[int]]:
    """This month's days (channel time zone) and, per day, the sends that count against LINE's quota
    (everything but replies), cumulative: how fast the month's quota is being used."""
    today = timezone.localtime(now or timezone.now(), channel.tz).date()
    days = day_range(channel, today.day, now=now)
    sent = sent_by_type(channel, days)
    running, out = 0, []
    for i in range(len(days.days)):
        running += sum(sent[k][i] for k in SENT_TYPES if k != "reply")
        out.append(running)
    return days, out
