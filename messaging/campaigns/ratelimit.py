"""The rate limiter every sender shares: Redis when REDIS_URL is set, else a table in the database.

Both are token buckets from ``lineapi.ratelimit`` keyed ``<channel>:<endpoint>``, run at a fraction
(``CAMPAIGN_RATE_SAFETY``) of LINE's published rates so that jitter between our clock and LINE's never
turns into a 429.
"""

from __future__ import annotations

import math
import time
from functools import lru_cache

from django.conf import settings
from django.db import transaction

from lineapi.ratelimit import RATE_LIMITS, Rate, TokenBucket, limiter_key

from . import conf
from .models import RateBucket

__all__ = ["DatabaseTokenBucket", "limiter", "limiter_key", "safe_rates"]


BURST_SECONDS = 0.5  # per-second limits hold at most this much of a second's worth of tokens


def safe_rates(safety: float | None = None) -> dict[str, Rate]:
    """LINE's rates times the safety factor. Per-second limits also get a smaller bucket (half a second's
    worth, at the same rate): a request reaches LINE some time after its token was granted, and a burst of
    late arrivals must still fit in LINE's one-second bucket."""
    factor = conf.rate_safety() if safety is None else safety
    rates = {}
    for name, (count, period) in RATE_LIMITS.items():
        allowed = max(1, math.floor(count * factor))
        if period <= 1.0:
            rates[name] = Rate(max(1, math.floor(allowed * BURST_SECONDS)), period * BURST_SECONDS)
        else:
            rates[name] = Rate(allowed, period)
    return rates


class DatabaseTokenBucket(TokenBucket):
    """A token bucket (per-second limits) or sliding window (per-hour limits) stored in RateBucket rows.

    One short transaction per take; the row lock (PostgreSQL) or the write lock (SQLite) makes it atomic
    across every worker that shares the database. Wall-clock time, since workers may run on many machines.
    """

    def __init__(self, rates=None, **kwargs):
        kwargs.setdefault("clock", time.time)
        super().__init__(rates, **kwargs)

    def _take(self, key: str, cost: int, rate: Rate) -> float:
        count, period = rate[0], rate[1]  # (requests, per seconds)
        with transaction.atomic():
            row, _ = RateBucket.objects.select_for_update().get_or_create(
                key=key, defaults={"tokens": float(count), "updated": self._clock()}
            )
            now = self._clock()
            if period > 1.0:
                return self._take_window(row, cost, count, period, now)
            per_second = count / period
            tokens = min(float(count), row.tokens + max(0.0, now - row.updated) * per_second)
            if tokens >= cost:
                RateBucket.objects.filter(pk=row.pk).update(tokens=tokens - cost, updated=now)
                return 0.0
            RateBucket.objects.filter(pk=row.pk).update(tokens=tokens, updated=now)
            return (cost - tokens) / per_second

    @staticmethod
    def _take_window(row: RateBucket, cost: int, count: int, period: float, now: float) -> float:
        stamps = sorted(s for s in row.stamps if s > now - period)
        if len(stamps) + cost <= count:
            stamps.extend([now] * cost)
            RateBucket.objects.filter(pk=row.pk).update(stamps=stamps, updated=now)
            return 0.0
        excess = len(stamps) + cost - count
        return max(stamps[excess - 1] + period - now, 1e-3)


@lru_cache(maxsize=1)
def limiter() -> TokenBucket:
    """The process-wide limiter (Redis when configured)."""
    rates = safe_rates()
    redis_url = getattr(settings, "REDIS_URL", "")
    if redis_url:
        import redis

        from lineapi.ratelimit import RedisTokenBucket

        return RedisTokenBucket(redis.Redis.from_url(redis_url), rates, prefix="campaigns:ratelimit:")
    return DatabaseTokenBucket(rates)
