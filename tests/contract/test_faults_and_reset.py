"""Injected faults and /_sim/reset."""

import uuid

import pytest
import urllib3
from linebot.v3.messaging import ApiException, PushMessageRequest, TextMessage


def test_a_dropped_response_still_records_the_send_and_the_retry_gets_409(linesim, user, api):
    linesim.fault("drop", "push", count=1)
    key = str(uuid.uuid4())
    request = PushMessageRequest(to=user["userId"], messages=[TextMessage(text="did it arrive?")])

    with pytest.raises(urllib3.exceptions.HTTPError):  # a connection error, not an HTTP answer
        api.push_message(request, x_line_retry_key=key)

    [send] = linesim.ledger(endpoint="push")
    assert send["retryKey"] == key
    assert linesim.summary()["dropped"] == 1
    with pytest.raises(ApiException) as caught:
        api.push_message(request, x_line_retry_key=key)
    assert caught.value.status == 409
    assert caught.value.headers["x-line-accepted-request-id"] == send["requestId"]


def test_a_500_fault_fails_the_request_without_recording_it(linesim, user, api):
    linesim.fault("500", "push", count=1)
    request = PushMessageRequest(to=user["userId"], messages=[TextMessage(text="x")])

    with pytest.raises(ApiException) as caught:
        api.push_message(request)
    api.push_message(request)

    assert caught.value.status == 500
    assert len(linesim.ledger(endpoint="push")) == 1
    assert linesim.summary()["http5xx"] == 1
    assert linesim.control("GET", "/_sim/faults")["faults"][0]["hits"] == 1


def test_a_quota_fault_answers_lines_monthly_limit(linesim, user, api):
    linesim.fault("429-quota", "*", count=1)
    with pytest.raises(ApiException) as caught:
        api.push_message(PushMessageRequest(to=user["userId"], messages=[TextMessage(text="x")]))
    assert caught.value.status == 429
    assert "monthly limit" in caught.value.body


def test_reset_forgets_traffic_but_keeps_channels_and_users(linesim, channel, user, api):
    api.push_message(PushMessageRequest(to=user["userId"], messages=[TextMessage(text="x")]))
    linesim.fault("500", "push", count=5)

    linesim.reset()

    assert linesim.ledger() == []
    assert linesim.summary()["requests"] == 0
    assert linesim.control("GET", "/_sim/faults")["faults"] == []
    assert api.get_profile(user["userId"]).display_name == "Alice"
    api.push_message(PushMessageRequest(to=user["userId"], messages=[TextMessage(text="after")]))


def test_reset_all_forgets_channels_too(linesim, channel, api):
    linesim.reset(all=True)
    assert linesim.control("GET", "/_sim/channels")["channels"] == []
    with pytest.raises(ApiException) as caught:
        api.get_bot_info()
    assert caught.value.status == 401
