"""The quota guard: this campaign's reach plus everything already planned this month, against LINE's quota."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from lineapi import LineAPIError

from .models import Campaign, CampaignState


@dataclass
class QuotaCheck:
    ok: bool
    limit: int | None = None  # None: no monthly cap (or unknown)
    used: int | None = None
    planned: int = 0  # other campaigns scheduled or still sending this month
    reach: int = 0
    message: str = ""
    unknown: bool = False

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else self.limit - (self.used or 0) - self.planned


def planned_this_month(channel, *, exclude_pk: int | None = None) -> int:
    """Messages other campaigns of this channel will still send this month (in the channel's time zone)."""
    now = timezone.localtime(timezone.now(), channel.tz)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timezone.timedelta(days=32)).replace(day=1)
    qs = Campaign.objects.filter(channel=channel).exclude(pk=exclude_pk)
    waiting = (
        qs.filter(
            state__in=[CampaignState.PENDING_APPROVAL, CampaignState.SCHEDULED],
            scheduled_at__gte=start,
            scheduled_at__lt=end,
        ).aggregate(n=Sum("estimated_reach"))["n"]
        or 0
    )
    sending = (
        qs.filter(state__in=[CampaignState.SENDING, CampaignState.PAUSED]).aggregate(
            n=Sum(F("recipients_count") - F("accepted_count") - F("failed_count"))
        )["n"]
        or 0
    )
    return int(waiting) + max(0, int(sending))


def quota_check(*, channel, client, reach: int, exclude_pk: int | None = None) -> QuotaCheck:
    """Compare reach + planned + LINE's consumption with LINE's monthly quota.

    LINE counts one message per recipient per send, however many message objects it carries.
    """
    planned = planned_this_month(channel, exclude_pk=exclude_pk)
    try:
        quota = client.get_quota()
        used = client.get_quota_consumption() if quota.type == "limited" else None
    except LineAPIError as exc:
        return QuotaCheck(
            ok=True,
            planned=planned,
            reach=reach,
            unknown=True,
            message=_("LINE's quota could not be read (%(reason)s); it is checked again before sending.")
            % {"reason": exc.kind},
        )
    if quota.type != "limited" or quota.value is None:
        return QuotaCheck(ok=True, planned=planned, reach=reach, used=used)
    check = QuotaCheck(ok=True, limit=int(quota.value), used=used, planned=planned, reach=reach)
    if (used or 0) + planned + reach > check.limit:
        check.ok = False
        check.message = _(
            "This campaign reaches about %(reach)s friends, but only %(remaining)s messages are left this "
            "month (quota %(limit)s, used %(used)s, planned by other campaigns %(planned)s)."
        ) % {
            "reach": reach,
            "remaining": max(0, check.remaining or 0),
            "limit": check.limit,
            "used": used or 0,
            "planned": planned,
        }
    return check


# -- what the dashboard shows -----------------------------------------------------------------------------

QUOTA_CACHE_SECONDS = 60  # LINE's figure is approximate anyway; a dashboard reload must not hit LINE each time
QUOTA_ERROR_CACHE_SECONDS = 15


@dataclass
class QuotaStatus:
    """LINE's monthly quota and this month's use, as read from LINE a moment ago (or why it could not be)."""

    ok: bool
    fetched_at: datetime
    type: str = ""  # "limited" or "none" (no monthly cap)
    limit: int | None = None
    used: int | None = None
    planned: int = 0
    error: str = ""

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - (self.used or 0))

    @property
    def after_planned(self) -> int | None:
        return None if self.limit is None else self.limit - (self.used or 0) - self.planned

    @property
    def available(self) -> int | None:
        """What new campaigns can still use this month: the limit less LINE's count and what is planned."""
        after = self.after_planned
        return None if after is None else max(0, after)

    @property
    def overdraft(self) -> int:
        """How many more messages the scheduled campaigns need than are left this month (0 if they fit)."""
        after = self.after_planned
        return 0 if after is None or after >= 0 else -after

    def share(self, value: int | None) -> float:
        """Percent of the limit (for the meter), capped so an overdraft still fits the bar."""
        if not self.limit or value is None:
            return 0.0
        return round(min(100.0, 100 * value / self.limit), 2)

    @property
    def used_share(self) -> float:
        return self.share(self.used)

    @property
    def planned_share(self) -> float:
        return round(min(self.share(self.planned), 100 - self.used_share), 2)


def _unreachable_text(kind: str, message: str) -> str:
    if kind == "auth":
        return _(
            "LINE refused the channel's access token, so the quota cannot be read. An admin should check "
            "the channel settings."
        )
    if kind == "rate_limit":
        return _("LINE asked us to slow down, so the quota cannot be read right now. Try again in a minute.")
    if kind in ("connection", "timeout", "server"):
        return _(
            "LINE could not be reached, so this month's quota is unknown right now. Try again in a minute; "
            "campaigns are checked against the quota again before they are sent."
        )
    return _("LINE did not give the quota (%(reason)s).") % {"reason": message or kind}


def _read_quota(channel) -> dict:
    from accounts.services import line_client

    now = timezone.now()
    try:
        client = line_client(channel)
        quota = client.get_quota()
        used = client.get_quota_consumption()
    except LineAPIError as exc:
        return {"ok": False, "fetched_at": now, "error": [exc.kind, exc.message or ""]}
    limit = int(quota.value) if quota.type == "limited" and quota.value is not None else None
    return {"ok": True, "fetched_at": now, "type": quota.type, "limit": limit, "used": used}


def quota_status(channel, *, refresh: bool = False) -> QuotaStatus:
    """LINE's quota and consumption for the channel, cached for a minute (15 s when LINE failed)."""
    key = f"campaigns:quota:{channel.pk}:{channel.channel_id}"
    data = None if refresh else cache.get(key)
    if data is None:
        data = _read_quota(channel)
        cache.set(key, data, QUOTA_CACHE_SECONDS if data["ok"] else QUOTA_ERROR_CACHE_SECONDS)
    data = dict(data)
    if not data["ok"]:  # cached as (kind, message): each reader gets the text in their own language
        data["error"] = _unreachable_text(*data["error"])
    return QuotaStatus(**data, planned=planned_this_month(channel))
