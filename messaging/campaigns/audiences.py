"""Who a campaign reaches: audience specs, saved segments, pasted/CSV user-ID lists and narrowcast filters.

An audience spec is the JSON kept on ``Campaign.audience``; its shape depends on ``Campaign.audience_kind``:

* ``all``: ``{}``: every friend, sent with one broadcast request;
* ``segment``: ``{"include_tags": [pk], "exclude_tags": [pk], "include_segments": [pk], "exclude_segments": [pk]}``
  over following friends (no include = everyone, minus the excludes), sent with multicast;
* ``list``: ``{"user_ids": [...], "bad_rows": [{"line", "value", "reason"}]}``, sent with multicast;
* ``demographic``: ``{"filter": {...LINE demographic filter...}, "max": N | null}``, sent with narrowcast.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from lineapi.limits.patterns import USER_ID_RE

from .models import AudienceKind

MAX_LIST_ROWS = 1_000_000

# LINE's narrowcast demographic values (messaging-api.yml#DemographicFilter).
GENDERS = [("male", gettext_lazy("Male")), ("female", gettext_lazy("Female"))]
AGES = [(f"age_{n}", f"{n}") for n in (15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70)]
APP_TYPES = [("ios", "iOS"), ("android", "Android")]
SUBSCRIPTION_PERIODS = [
    ("day_7", gettext_lazy("7 days")), ("day_30", gettext_lazy("30 days")), ("day_90", gettext_lazy("90 days")),
    ("day_180", gettext_lazy("180 days")), ("day_365", gettext_lazy("365 days")),
]
# Areas: LINE codes for Japan (jp_01..jp_47), Taiwan (tw_01..tw_22), Thailand (th_01..th_08), Indonesia.
AREAS = (
    [(f"jp_{n:02d}", f"JP {n:02d}") for n in range(1, 48)]
    + [(f"tw_{n:02d}", f"TW {n:02d}") for n in range(1, 23)]
    + [(f"th_{n:02d}", f"TH {n:02d}") for n in range(1, 9)]
    + [(f"id_{n:02d}", f"ID {n:02d}") for n in range(1, 13)]
)
NARROWCAST_MIN_TARGET_REACH = 100
NARROWCAST_MIN_RECIPIENTS = 50


def _friends():
    from messaging.models import Friend

    return Friend


def _friend_tags():
    return _friends().tags.through


# -- pasted lists and CSV ------------------------------------------------------------


@dataclass
class ParsedList:
    user_ids: list[str] = field(default_factory=list)
    bad_rows: list[dict] = field(default_factory=list)


def parse_user_id_list(text: str) -> ParsedList:
    """User IDs from pasted text or a CSV file (the first cell of each row that holds one).

    Bad rows are reported (line number, value, reason) and skipped; they never fail the whole list.
    A first row without any user ID is taken for a header and skipped silently.
    """
    result, seen = ParsedList(), set()
    reader = csv.reader(io.StringIO(text.replace("\r\n", "\n").replace(";", ",").replace("\t", ",")))
    for line_no, row in enumerate(reader, start=1):
        cells = [c.strip().strip('"').strip() for c in row if c.strip()]
        if not cells:
            continue
        user_id = next((c for c in cells if USER_ID_RE.match(c)), None)
        if user_id is None:
            if line_no == 1 and not any(c.startswith("U") for c in cells):
                continue  # a header row
            result.bad_rows.append({"line": line_no, "value": ",".join(cells)[:80],
                                    "reason": _("not a LINE user ID (U followed by 32 hex digits)")})
        elif user_id in seen:
            result.bad_rows.append({"line": line_no, "value": user_id, "reason": _("listed twice")})
        else:
            seen.add(user_id)
            result.user_ids.append(user_id)
        if len(result.user_ids) >= MAX_LIST_ROWS:
            break
    return result


# -- segments ------------------------------------------------------------------------------


def segment_filter_q(filters: dict) -> Q:
    """A saved segment's filters as a Q over Friend (all given conditions must hold)."""
    q = Q()
    tags_any = [int(t) for t in filters.get("tags_any") or []]
    if tags_any:
        q &= Q(pk__in=_friend_tags().objects.filter(tag_id__in=tags_any).values("friend_id"))
    for tag in filters.get("tags_all") or []:
        q &= Q(pk__in=_friend_tags().objects.filter(tag_id=int(tag)).values("friend_id"))
    tags_none = [int(t) for t in filters.get("tags_none") or []]
    if tags_none:
        q &= ~Q(pk__in=_friend_tags().objects.filter(tag_id__in=tags_none).values("friend_id"))
    if d := parse_date(filters.get("followed_after") or ""):
        q &= Q(followed_at__date__gte=d)
    if d := parse_date(filters.get("followed_before") or ""):
        q &= Q(followed_at__date__lte=d)
    now = timezone.now()
    if days := filters.get("contacted_within_days"):
        q &= Q(last_contact_at__gte=now - timedelta(days=int(days)))
    if days := filters.get("not_contacted_for_days"):
        q &= Q(last_contact_at__lt=now - timedelta(days=int(days))) | Q(last_contact_at__isnull=True)
    if languages := [lang for lang in filters.get("languages") or [] if lang]:
        q &= Q(language__in=languages)
    if filters.get("linked") == "yes":
        q &= ~Q(customer_id="")
    elif filters.get("linked") == "no":
        q &= Q(customer_id="")
    return q


def following_friends(channel) -> QuerySet:
    return _friends().objects.filter(channel=channel, is_following=True)


def segment_friends(channel, spec: dict) -> QuerySet:
    """Following friends matching a ``segment`` audience spec: (any include) minus (every exclude)."""
    from .models import Segment

    qs = following_friends(channel)
    include = Q()
    if tags := [int(t) for t in spec.get("include_tags") or []]:
        include |= Q(pk__in=_friend_tags().objects.filter(tag_id__in=tags).values("friend_id"))
    segments = {s.pk: s for s in Segment.objects.filter(channel=channel)}
    for pk in spec.get("include_segments") or []:
        if seg := segments.get(int(pk)):
            include |= segment_filter_q(seg.filters)
    if include:
        qs = qs.filter(include)
    if tags := [int(t) for t in spec.get("exclude_tags") or []]:
        qs = qs.exclude(pk__in=_friend_tags().objects.filter(tag_id__in=tags).values("friend_id"))
    for pk in spec.get("exclude_segments") or []:
        if seg := segments.get(int(pk)):
            qs = qs.exclude(pk__in=_friends().objects.filter(channel=channel).filter(
                segment_filter_q(seg.filters)).values("pk"))
    return qs


# -- narrowcast ----------------------------------------------------------------------------


def demographic_filter(*, genders=(), age_from="", age_to="", app_types=(), areas=(), subscription=()) -> dict:
    """LINE's ``filter.demographic`` object from the form's choices ({} when nothing is chosen)."""
    parts: list[dict] = []
    if genders:
        parts.append({"type": "gender", "oneOf": list(genders)})
    if age_from or age_to:
        age: dict = {"type": "age"}
        if age_from:
            age["gte"] = age_from
        if age_to:
            age["lt"] = age_to
        parts.append(age)
    if app_types:
        parts.append({"type": "appType", "oneOf": list(app_types)})
    if areas:
        parts.append({"type": "area", "oneOf": list(areas)})
    if subscription:
        parts.append({"type": "subscriptionPeriod", "gte": subscription[0]} if len(subscription) == 1
                     else {"type": "subscriptionPeriod", "gte": subscription[0], "lt": subscription[-1]})
    if not parts:
        return {}
    return {"demographic": parts[0] if len(parts) == 1 else {"type": "operator", "and": parts}}


# -- reach ----------------------------------------------------------------------------------


@dataclass
class Reach:
    count: int | None  # None when only LINE knows (narrowcast)
    exact: bool
    note: str = ""


def estimate_reach(channel, kind: str, spec: dict) -> Reach:
    if kind == AudienceKind.ALL:
        return Reach(following_friends(channel).count(), False,
                     _("Friends we know of; LINE sends to every friend who has not blocked the account."))
    if kind == AudienceKind.SEGMENT:
        return Reach(segment_friends(channel, spec).count(), True)
    if kind == AudienceKind.LIST:
        return Reach(len(spec.get("user_ids") or []), True)
    limit = spec.get("max")
    return Reach(
        int(limit) if limit else None, False,
        _("LINE picks the recipients. It needs a target reach of at least %(reach)s friends and at least "
          "%(min)s recipients after filtering, otherwise the send fails.")
        % {"reach": NARROWCAST_MIN_TARGET_REACH, "min": NARROWCAST_MIN_RECIPIENTS},
    )
