"""X-Line-Retry-Key: accepted once per channel, 409 afterwards, refused where LINE refuses it."""

import json
import uuid

import pytest
import requests
from linebot.v3.messaging import ApiException, MulticastRequest, PushMessageRequest, ReplyMessageRequest, TextMessage


def test_the_same_key_twice_gives_409_with_the_original_request_id(linesim, user, api):
    key = str(uuid.uuid4())
    request = PushMessageRequest(to=user["userId"], messages=[TextMessage(text="once")])
    first = api.push_message_with_http_info(request, x_line_retry_key=key)

    with pytest.raises(ApiException) as caught:
        api.push_message(request, x_line_retry_key=key)

    assert caught.value.status == 409
    assert caught.value.headers["x-line-accepted-request-id"] == first.headers["x-line-request-id"]
    body = json.loads(caught.value.body)
    assert body["message"] == "The retry key is already accepted"
    assert body["sentMessages"][0]["id"] == first.data.sent_messages[0].id
    [send] = linesim.ledger(endpoint="push")
    assert send["retryKey"] == key


def test_multicast_409_carries_no_sent_messages(api):
    key = str(uuid.uuid4())
    request = MulticastRequest(to=["U" + "1" * 32], messages=[TextMessage(text="hi")])
    api.multicast(request, x_line_retry_key=key)
    with pytest.raises(ApiException) as caught:
        api.multicast(request, x_line_retry_key=key)
    assert caught.value.status == 409
    assert json.loads(caught.value.body) == {"message": "The retry key is already accepted"}


def test_keys_are_per_channel(linesim, channel, user, api):
    key = str(uuid.uuid4())
    api.push_message(PushMessageRequest(to=user["userId"], messages=[TextMessage(text="a")]), x_line_retry_key=key)
    other = linesim.register_channel("1999999999", "other-secret", "other-token")

    response = requests.post(
        linesim.base_url + "/v2/bot/message/push",
        json={"to": user["userId"], "messages": [{"type": "text", "text": "b"}]},
        headers={"Authorization": f"Bearer {other['accessToken']}", "X-Line-Retry-Key": key},
    )

    assert response.status_code == 200


def test_a_retry_key_on_reply_or_a_non_uuid_key_is_refused(linesim, channel, user, api):
    event = linesim.act(channel["channelId"], user["userId"], "text", text="hi")["event"]
    with pytest.raises(ApiException) as on_reply:
        api.reply_message(
            ReplyMessageRequest(reply_token=event["replyToken"], messages=[TextMessage(text="x")]),
            _headers={"X-Line-Retry-Key": str(uuid.uuid4())},
        )
    with pytest.raises(ApiException) as not_uuid:
        api.push_message(
            PushMessageRequest(to=user["userId"], messages=[TextMessage(text="x")]), x_line_retry_key="not-a-uuid"
        )

    assert on_reply.value.status == 400
    assert json.loads(on_reply.value.body) == {"message": "X-Line-Retry-Key header is not supported"}
    assert not_uuid.value.status == 400
    assert linesim.ledger() == []


def test_concurrent_requests_with_one_key_are_accepted_exactly_once(linesim, channel, user):
    from concurrent.futures import ThreadPoolExecutor

    key = str(uuid.uuid4())
    body = {"to": user["userId"], "messages": [{"type": "text", "text": "only once"}]}
    headers = {"Authorization": f"Bearer {channel['accessToken']}", "X-Line-Retry-Key": key}

    def post(_):
        return requests.post(linesim.base_url + "/v2/bot/message/push", json=body, headers=headers).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(post, range(8)))

    assert statuses == [200] + [409] * 7
    assert len(linesim.ledger(endpoint="push")) == 1
