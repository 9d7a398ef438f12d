"""Rate limiters: however they are hammered, grants never outrun LINE's published rate."""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections.abc import Iterator, Sequence

import pytest

from lineapi.ratelimit import (
    DEFAULT_RATE,
    RATE_LIMITS,
    InProcessTokenBucket,
    Rate,
    RateLimiter,
    RedisTokenBucket,
    TokenBucket,
    limiter_key,
    rate_for,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def assert_bucket_bound(times: Sequence[float], rate: Rate, slack: float = 0.0) -> None:
    """A bucket of one second's worth: any run of grants i..j fits capacity + rate x span."""
    per_second = rate.limit / rate.period
    times = sorted(times)
    for i in range(len(times)):
        for j in range(i, len(times)):
            granted = j - i + 1
            allowed = rate.limit + per_second * (times[j] - times[i]) + slack
            assert granted <= allowed + 1e-9, f"{granted} grants in {times[j] - times[i]:.4f}s"


def assert_window_bound(times: Sequence[float], rate: Rate, slack: float = 0.0) -> None:
    """A sliding window: no period-long window holds more than ``limit`` grants."""
    times = sorted(times)
    for j, end in enumerate(times):
        inside = sum(1 for t in times[: j + 1] if t > end - rate.period + slack)
        assert inside <= rate.limit, f"{inside} grants within {rate.period}s ending at {end}"


def test_published_rates_are_data() -> None:
    assert RATE_LIMITS["multicast"] == (200, 1.0)
    assert RATE_LIMITS["push"] == (2000, 1.0)
    assert RATE_LIMITS["broadcast"] == (60, 3600.0)
    assert RATE_LIMITS["narrowcast"] == (60, 3600.0)
    assert rate_for("get_profile") == DEFAULT_RATE == (2000, 1.0)
    assert limiter_key("1650000000", "multicast") == "1650000000:multicast"
    bucket = InProcessTokenBucket()
    assert bucket.rate_of(limiter_key("1650000000", "multicast")) == (200, 1.0)
    assert bucket.rate_of("1650000000:something_new") == DEFAULT_RATE


def test_both_backends_satisfy_the_limiter_protocol() -> None:
    limiter: RateLimiter = InProcessTokenBucket()
    assert isinstance(limiter, TokenBucket)
    assert limiter.acquire("c:push", timeout=0)


def test_the_in_process_bucket_never_exceeds_its_rate_over_time() -> None:
    clock = FakeClock()
    rate = Rate(10, 1.0)
    bucket = InProcessTokenBucket({"ep": rate}, clock=clock, sleep=clock.sleep)
    rng = random.Random(7)
    times = []
    for _ in range(300):
        if rng.random() < 0.1:
            clock.sleep(rng.uniform(0, 1.5))  # idle: the bucket refills, but only to one second's worth
        cost = rng.choice([1, 1, 1, 2, 3])
        assert bucket.acquire("chan:ep", cost, timeout=10)
        times.extend([clock.now] * cost)
    assert_bucket_bound(times, rate)


def test_the_in_process_bucket_is_not_needlessly_slow() -> None:
    clock = FakeClock()
    bucket = InProcessTokenBucket({"ep": Rate(10, 1.0)}, clock=clock, sleep=clock.sleep)
    start = clock.now
    for _ in range(110):
        assert bucket.acquire("c:ep", timeout=60)
    # 10 at once (one second's worth), then 100 more at 10/s.
    assert clock.now - start == pytest.approx(10.0, abs=0.01)


def test_an_hourly_limit_is_a_sliding_window() -> None:
    clock = FakeClock()
    rate = Rate(5, 3600.0)
    bucket = InProcessTokenBucket({"broadcast": rate}, clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(17):
        assert bucket.acquire("c:broadcast", timeout=4000)
        times.append(clock.now)
        clock.sleep(random.Random(len(times)).uniform(0, 400))
    assert_window_bound(times, rate)
    assert times[5] - times[0] == pytest.approx(3600.0, abs=0.01)  # the 6th waits for the 1st to age out


def test_acquire_gives_up_at_once_when_the_wait_outlasts_the_timeout() -> None:
    clock = FakeClock()
    bucket = InProcessTokenBucket({"broadcast": Rate(2, 3600.0)}, clock=clock, sleep=clock.sleep)
    assert bucket.acquire("c:broadcast", timeout=0)
    assert bucket.acquire("c:broadcast", timeout=0)
    before = clock.now
    assert bucket.acquire("c:broadcast", timeout=30) is False
    assert clock.now == before  # did not sleep in vain
    assert bucket.try_acquire("c:broadcast") == pytest.approx(3600.0)
    clock.sleep(3600.0)
    assert bucket.acquire("c:broadcast", timeout=0)


def test_channels_and_endpoints_have_separate_budgets() -> None:
    clock = FakeClock()
    bucket = InProcessTokenBucket({"a": Rate(1, 1.0), "b": Rate(1, 1.0)}, clock=clock, sleep=clock.sleep)
    assert bucket.try_acquire("one:a") == 0
    assert bucket.try_acquire("one:b") == 0
    assert bucket.try_acquire("two:a") == 0
    assert bucket.try_acquire("one:a") > 0


def test_an_impossible_cost_is_refused() -> None:
    bucket = InProcessTokenBucket({"ep": Rate(5, 1.0)})
    with pytest.raises(ValueError):
        bucket.acquire("c:ep", 6, timeout=1)
    with pytest.raises(ValueError):
        bucket.acquire("c:ep", 0, timeout=1)


def hammer(buckets: Sequence[TokenBucket], key: str, seconds: float, threads: int = 4) -> list[float]:
    """Threads acquire as fast as they are allowed for ``seconds``; returns grant times."""
    times: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def run(bucket: TokenBucket) -> None:
        while time.monotonic() < stop:
            if bucket.acquire(key, timeout=0.5):
                now = time.monotonic()
                with lock:
                    times.append(now)

    workers = [threading.Thread(target=run, args=(buckets[i % len(buckets)],)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return times


def test_threads_sharing_an_in_process_bucket_stay_under_the_rate() -> None:
    rate = Rate(40, 1.0)
    bucket = InProcessTokenBucket({"ep": rate})
    times = hammer([bucket], "c:ep", 1.5)
    assert_bucket_bound(times, rate, slack=2)
    assert len(times) >= 40 + 40 * 1.0  # and it did let the rate through


# -- Redis ----------------------------------------------------------------------------------------

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_client() -> Iterator[object]:
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        pytest.skip(f"Redis at {REDIS_URL} is unreachable ({exc}); the shared limiter needs a Redis")
    prefix = f"lineapi:test:{uuid.uuid4().hex}:"
    yield client, prefix
    for key in client.scan_iter(prefix + "*"):
        client.delete(key)
    client.close()


def test_redis_buckets_share_one_budget_across_clients(redis_client: tuple[object, str]) -> None:
    import redis

    client, prefix = redis_client
    rate = Rate(30, 1.0)
    # Two independent connections play two worker processes.
    first = RedisTokenBucket(client, {"multicast": rate}, prefix=prefix)  # type: ignore[arg-type]
    other = redis.Redis.from_url(REDIS_URL)
    second = RedisTokenBucket(other, {"multicast": rate}, prefix=prefix)
    try:
        times = hammer([first, second], "chan:multicast", 1.5)
    finally:
        other.close()
    assert_bucket_bound(times, rate, slack=2)
    assert len(times) >= 30 + 30 * 1.0


def test_the_redis_window_counts_per_period_and_reports_the_wait(redis_client: tuple[object, str]) -> None:
    client, prefix = redis_client
    rate = Rate(5, 2.0)
    bucket = RedisTokenBucket(client, {"broadcast": rate}, prefix=prefix)  # type: ignore[arg-type]
    started = time.monotonic()
    assert [bucket.try_acquire("c:broadcast") for _ in range(5)] == [0.0] * 5
    wait = bucket.try_acquire("c:broadcast")
    assert 1.5 < wait <= 2.0
    assert bucket.acquire("c:broadcast", timeout=0.2) is False
    assert bucket.acquire("c:broadcast", timeout=3.0) is True
    assert time.monotonic() - started >= 1.9
    ttl = client.pttl(prefix + "c:broadcast")  # type: ignore[attr-defined]
    assert 0 < ttl <= 4000  # idle state cleans itself up


def test_redis_window_under_contention(redis_client: tuple[object, str]) -> None:
    client, prefix = redis_client
    rate = Rate(8, 1.5)
    bucket = RedisTokenBucket(client, {"audience": rate}, prefix=prefix)  # type: ignore[arg-type]
    times = hammer([bucket], "c:audience", 3.2, threads=3)
    assert_window_bound(times, rate, slack=0.05)
    assert len(times) >= 16
