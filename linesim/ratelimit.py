"""Per-channel, per-endpoint rate limits at LINE's published rates.

Per-second limits use a token bucket whose capacity is one second's worth of requests,
so a client cannot burst far above the published rate.  Per-minute and per-hour limits
use a sliding window (a deque of accept times): "60/hour" then means at most 60 in any
hour, which is what a well-behaved client must plan for.
"""

from __future__ import annotations

import time
from collections import deque

# name -> (requests, per seconds).  Names are what endpoints pass to RateLimiter.take().
LIMITS: dict[str, tuple[int, float]] = {
    "multicast": (200, 1),
    "narrowcast": (60, 3600),
    "broadcast": (60, 3600),
    "richmenu-create": (100, 3600),
    "richmenu-delete": (100, 3600),
    "richmenu-alias-delete": (100, 3600),
    "richmenu-batch-progress": (100, 3600),
    "richmenu-batch": (3, 3600),
    "short-lived-token": (370, 1),
    "webhook-test": (60, 3600),
    "webhook-endpoint": (1000, 60),
}
DEFAULT_LIMIT = (2000, 1)


class TokenBucket:
    __slots__ = ("rate", "capacity", "tokens", "updated")

    def __init__(self, rate: float, capacity: float, now: float):
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.updated = now

    def take(self, now: float) -> bool:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class SlidingWindow:
    __slots__ = ("count", "period", "times")

    def __init__(self, count: int, period: float):
        self.count = count
        self.period = period
        self.times: deque[float] = deque()

    def take(self, now: float) -> bool:
        while self.times and self.times[0] <= now - self.period:
            self.times.popleft()
        if len(self.times) < self.count:
            self.times.append(now)
            return True
        return False


def _new_limiter(count: int, period: float, now: float):
    if period <= 1:
        rate = count / period
        return TokenBucket(rate, rate, now)
    return SlidingWindow(count, period)


class RateLimiter:
    def __init__(self):
        self._limiters: dict[tuple[str, str], TokenBucket | SlidingWindow] = {}

    def take(self, scope: str, name: str) -> bool:
        """Consume one request for ``scope`` (usually a channel id) on ``name``.

        ``name`` is a key of LIMITS, or any other endpoint name (which gets 2,000/s).
        """
        now = time.monotonic()
        key = (scope, name)
        limiter = self._limiters.get(key)
        if limiter is None:
            count, period = LIMITS.get(name, DEFAULT_LIMIT)
            limiter = self._limiters[key] = _new_limiter(count, period, now)
        return limiter.take(now)
