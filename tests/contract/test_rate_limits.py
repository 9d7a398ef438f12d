"""Per-channel, per-endpoint rate limits at LINE's published rates."""

import json

import pytest
from linebot.v3.messaging import ApiException, BroadcastRequest, TextMessage


def test_the_61st_broadcast_in_an_hour_gets_429(linesim, api):
    request = BroadcastRequest(messages=[TextMessage(text="hi")])
    for _ in range(60):
        api.broadcast(request)

    with pytest.raises(ApiException) as caught:
        api.broadcast(request)

    assert caught.value.status == 429
    assert json.loads(caught.value.body) == {"message": "The API rate limit has been exceeded. Try again later."}
    assert linesim.summary()["http429"] == 1
    assert linesim.summary()["byEndpoint"]["broadcast"] == 60


def test_rate_limits_can_be_switched_off(linesim, api):
    linesim.config(rateLimits=False)
    request = BroadcastRequest(messages=[TextMessage(text="hi")])
    for _ in range(61):
        api.broadcast(request)
    assert linesim.summary()["byEndpoint"]["broadcast"] == 61


def test_a_per_second_bucket_holds_one_seconds_worth_and_no_more(monkeypatch):
    from linesim import ratelimit

    clock = [1000.0]
    monkeypatch.setattr(ratelimit.time, "monotonic", lambda: clock[0])
    limiter = ratelimit.RateLimiter()

    burst = sum(limiter.take("channel", "multicast") for _ in range(1000))
    clock[0] += 0.5
    after_half_a_second = sum(limiter.take("channel", "multicast") for _ in range(1000))

    assert burst == 200
    assert after_half_a_second == 100
