"""Recipient lists and custom aggregation unit names."""

from __future__ import annotations

from typing import Any

from ._core import Errors, FieldError, join
from .patterns import AGGREGATION_UNIT_RE, USER_ID_RE

MULTICAST_MAX = 500


def check_multicast_recipients(to: Any, *, path: str = "to") -> list[FieldError]:
    """1..500 distinct user IDs (``U`` + 32 hex digits); groups and rooms are not allowed."""
    errs = Errors()
    if not isinstance(to, (list, tuple)):
        errs.add(path, "required" if to is None else "not_list")
        return errs.items
    if not to:
        errs.add(path, "too_few", min=1, count=0)
    elif len(to) > MULTICAST_MAX:
        errs.add(path, "too_many", max=MULTICAST_MAX, count=len(to))
    seen: set[str] = set()
    for i, user_id in enumerate(to):
        if not isinstance(user_id, str) or not USER_ID_RE.match(user_id):
            errs.add(join(path, i), "invalid_user_id")
        elif user_id in seen:
            errs.add(join(path, i), "duplicate", value=user_id)
        else:
            seen.add(user_id)
    return errs.items


def check_custom_aggregation_unit(name: Any, *, path: str = "customAggregationUnits[0]") -> list[FieldError]:
    """A unit name for per-unit statistics: ``^[a-zA-Z0-9_]{1,30}$`` (case-sensitive)."""
    errs = Errors()
    if not isinstance(name, str) or not AGGREGATION_UNIT_RE.match(name):
        errs.add(path, "required" if name in (None, "") else "aggregation_unit")
    return errs.items
