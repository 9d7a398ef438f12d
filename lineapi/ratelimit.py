"""LINE's published rate limits as data, and limiters that keep us under them.

LINE limits each channel per endpoint. Sender tasks on many workers share one
budget, so the limiter must be shared too: :class:`RedisTokenBucket` keeps its
state in Redis (one atomic Lua script, Redis's own clock), :class:`InProcessTokenBucket`
keeps it in memory for a single process and for tests. The app can add another
backend (a database table, say) by subclassing :class:`TokenBucket` and
implementing ``_take``.

Two shapes, chosen by the limit's period:

* per-second limits are a token bucket holding at most one second's worth of
  requests (no burst beyond that) and refilling at the published rate;
* per-minute and per-hour limits are a sliding window: at most N in *any*
  period. A token bucket cannot express "60 per hour" well: with 60 tokens it
  lets 120 through in some hour, with 1 token it paces to one a minute.

Keys are ``"<channel>:<endpoint>"`` (see :func:`limiter_key`); the endpoint part
picks the rate from :data:`RATE_LIMITS`.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:  # redis is an optional runtime dependency of this module
    import redis


class Rate(NamedTuple):
    """``limit`` requests per ``period`` seconds."""

    limit: int
    period: float

    @property
    def windowed(self) -> bool:
        """True for per-minute/per-hour limits (sliding window), False for per-second."""
        return self.period > 1.0


# Endpoint names follow LineClient's method names. Per channel, per endpoint.
RATE_LIMITS: dict[str, Rate] = {
    "reply": Rate(2000, 1.0),
    "push": Rate(2000, 1.0),
    "multicast": Rate(200, 1.0),
    "narrowcast": Rate(60, 3600.0),
    "broadcast": Rate(60, 3600.0),
    "narrowcast_progress": Rate(2000, 1.0),
    "validate": Rate(2000, 1.0),
    "insight_message_delivery": Rate(60, 3600.0),
    "insight_followers": Rate(60, 3600.0),
    "insight_demographics": Rate(60, 3600.0),
    "insight_message_event": Rate(60, 3600.0),
    "statistics_per_unit": Rate(60, 3600.0),
    "test_webhook_endpoint": Rate(60, 3600.0),
    "get_webhook_endpoint": Rate(1000, 60.0),
    "set_webhook_endpoint": Rate(1000, 60.0),
    "create_rich_menu": Rate(100, 3600.0),
    "delete_rich_menu": Rate(100, 3600.0),
    "delete_rich_menu_alias": Rate(100, 3600.0),
    "rich_menu_batch_progress": Rate(100, 3600.0),
    "rich_menu_batch": Rate(3, 3600.0),
    "issue_short_lived_token": Rate(370, 1.0),
    "audience": Rate(60, 60.0),
    "membership": Rate(200, 1.0),
    "coupon": Rate(200, 1.0),
    "loading_animation": Rate(100, 1.0),
}
DEFAULT_RATE = Rate(2000, 1.0)


def rate_for(endpoint: str) -> Rate:
    """The published rate of ``endpoint`` (2,000/s for everything not listed)."""
    return RATE_LIMITS.get(endpoint, DEFAULT_RATE)


def limiter_key(channel_id: str, endpoint: str) -> str:
    """The limiter key for one channel's endpoint: LINE counts them separately."""
    return f"{channel_id}:{endpoint}"


class RateLimiter(Protocol):
    """What callers depend on: block up to ``timeout`` seconds for ``cost`` requests."""

    def acquire(self, key: str, cost: int = 1, *, timeout: float) -> bool: ...


class TokenBucket(ABC):
    """Shared logic: resolving a key's rate and waiting. Backends implement ``_take``."""

    def __init__(
        self,
        rates: Mapping[str, Rate] | None = None,
        *,
        default: Rate = DEFAULT_RATE,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rates: Mapping[str, Rate] = RATE_LIMITS if rates is None else rates
        self.default = default
        self._clock = clock
        self._sleep = sleep

    def rate_of(self, key: str) -> Rate:
        return self.rates.get(key.rsplit(":", 1)[-1], self.default)

    def try_acquire(self, key: str, cost: int = 1) -> float:
        """Take ``cost`` now if allowed and return 0.0; otherwise take nothing and
        return how many seconds to wait before it could be allowed.

        A Celery task can use this to ``retry(countdown=wait)`` instead of blocking.
        """
        rate = self.rate_of(key)
        if cost < 1 or cost > rate.limit:
            raise ValueError(f"cost must be between 1 and {rate.limit} for {key!r}")
        return self._take(key, cost, rate)

    def acquire(self, key: str, cost: int = 1, *, timeout: float) -> bool:
        """Wait until ``cost`` requests are allowed and take them, or give up.

        Returns False at once when the wait would outlast ``timeout``; nothing is
        taken then.
        """
        deadline = self._clock() + max(0.0, timeout)
        while True:
            wait = self.try_acquire(key, cost)
            if wait <= 0:
                return True
            if self._clock() + wait > deadline:
                return False
            self._sleep(wait)

    @abstractmethod
    def _take(self, key: str, cost: int, rate: Rate) -> float:
        """Atomically take ``cost`` from ``key`` under ``rate``: 0.0 if taken, else the wait."""


class InProcessTokenBucket(TokenBucket):
    """Limits within one process (threads share it). Uses the monotonic clock."""

    def __init__(self, rates: Mapping[str, Rate] | None = None, **kwargs: Any) -> None:
        super().__init__(rates, **kwargs)
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, updated)
        self._windows: dict[str, deque[tuple[float, int]]] = {}  # key -> (time, cost)

    def _take(self, key: str, cost: int, rate: Rate) -> float:
        with self._lock:
            now = self._clock()
            if rate.windowed:
                return self._take_window(key, cost, rate, now)
            return self._take_bucket(key, cost, rate, now)

    def _take_bucket(self, key: str, cost: int, rate: Rate, now: float) -> float:
        capacity = float(rate.limit)  # one second's worth (or the whole sub-second window)
        per_second = rate.limit / rate.period
        tokens, updated = self._buckets.get(key, (capacity, now))
        if now > updated:
            tokens = min(capacity, tokens + (now - updated) * per_second)
            updated = now
        # The epsilon absorbs float error: after sleeping exactly the wait we returned,
        # the refill may land a hair below ``cost`` and would otherwise spin forever.
        if tokens + 1e-9 >= cost:
            self._buckets[key] = (max(0.0, tokens - cost), updated)
            return 0.0
        self._buckets[key] = (tokens, updated)
        return max((cost - tokens) / per_second, 1e-6)

    def _take_window(self, key: str, cost: int, rate: Rate, now: float) -> float:
        window = self._windows.setdefault(key, deque())
        while window and window[0][0] <= now - rate.period:
            window.popleft()
        used = sum(c for _, c in window)
        if used + cost <= rate.limit:
            window.append((now, cost))
            return 0.0
        excess = used + cost - rate.limit
        freed = 0
        for stamp, c in window:  # oldest first: wait for enough of them to expire
            freed += c
            if freed >= excess:
                return max(stamp + rate.period - now, 1e-6)
        return rate.period  # unreachable while cost <= count


# KEYS[1] = state key. ARGV = mode, count, period (microseconds), cost, nonce.
# Returns 0 when taken, else the wait in microseconds. Time is Redis's own clock,
# so every worker on every machine agrees on it.
_LUA = """
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local count = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local ttl = math.ceil(period / 1000) + 1000
if ARGV[1] == 'bucket' then
  local capacity = count
  local per_us = count / period
  local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
  local tokens = tonumber(state[1])
  local ts = tonumber(state[2])
  if tokens == nil or ts == nil then tokens = capacity; ts = now end
  if now > ts then
    tokens = math.min(capacity, tokens + (now - ts) * per_us)
    ts = now
  end
  if tokens + 0.000001 >= cost then
    redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', math.max(0, tokens - cost)),
               'ts', string.format('%.0f', ts))
    redis.call('PEXPIRE', KEYS[1], ttl)
    return 0
  end
  return math.max(1, math.ceil((cost - tokens) / per_us))
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now - period))
local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local used = 0
for i = 1, #entries, 2 do
  used = used + tonumber(string.match(entries[i], ':(%d+)$'))
end
if used + cost <= count then
  redis.call('ZADD', KEYS[1], string.format('%.0f', now), ARGV[5] .. ':' .. ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ttl)
  return 0
end
local excess = used + cost - count
local freed = 0
for i = 1, #entries, 2 do
  freed = freed + tonumber(string.match(entries[i], ':(%d+)$'))
  if freed >= excess then
    return math.max(1, math.ceil(tonumber(entries[i + 1]) + period - now))
  end
end
return math.ceil(period)
"""


class RedisTokenBucket(TokenBucket):
    """Limits shared by every process and machine that uses the same Redis.

    Args:
        client: a ``redis.Redis`` connection.
        prefix: namespace for the state keys (which expire on their own when idle).
    """

    def __init__(
        self,
        client: redis.Redis,
        rates: Mapping[str, Rate] | None = None,
        *,
        prefix: str = "lineapi:ratelimit:",
        **kwargs: Any,
    ) -> None:
        super().__init__(rates, **kwargs)
        self._redis = client
        self._prefix = prefix
        self._script = client.register_script(_LUA)

    def _take(self, key: str, cost: int, rate: Rate) -> float:
        mode = "window" if rate.windowed else "bucket"
        period_us = math.ceil(rate.period * 1_000_000)
        nonce = uuid.uuid4().hex  # members of the window's set must be unique
        wait_us = self._script(
            keys=[self._prefix + key],
            args=[mode, rate.limit, period_us, cost, nonce],
        )
        return int(wait_us) / 1_000_000
