"""The quota guard: this campaign's reach plus everything already planned this month, against LINE's quota."""

from __future__ import annotations

from dataclasses import dataclass

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
    waiting = qs.filter(
        state__in=[CampaignState.PENDING_APPROVAL, CampaignState.SCHEDULED],
        scheduled_at__gte=start, scheduled_at__lt=end,
    ).aggregate(n=Sum("estimated_reach"))["n"] or 0
    sending = qs.filter(state__in=[CampaignState.SENDING, CampaignState.PAUSED]).aggregate(
        n=Sum(F("recipients_count") - F("accepted_count") - F("failed_count"))
    )["n"] or 0
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
        return QuotaCheck(ok=True, planned=planned, reach=reach, unknown=True,
                          message=_("LINE's quota could not be read (%(reason)s); it is checked again "
                                    "before sending.") % {"reason": exc.kind})
    if quota.type != "limited" or quota.value is None:
        return QuotaCheck(ok=True, planned=planned, reach=reach, used=used)
    check = QuotaCheck(ok=True, limit=int(quota.value), used=used, planned=planned, reach=reach)
    if (used or 0) + planned + reach > check.limit:
        check.ok = False
        check.message = _(
            "This campaign reaches about %(reach)s friends, but only %(remaining)s messages are left this "
            "month (quota %(limit)s, used %(used)s, planned by other campaigns %(planned)s)."
        ) % {"reach": reach, "remaining": max(0, check.remaining or 0), "limit": check.limit,
             "used": used or 0, "planned": planned}
    return check
