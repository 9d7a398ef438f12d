"""Messages staff send reach the friend exactly once, even when LINE's answer is lost or a worker dies mid-send.

A push is sent again with its stored retry key (LINE answers 409 to a key it already accepted); a reply,
which cannot be retried safely, is marked not confirmed in plain words and can be resent as a push.
linesim's ledger is what the friend's phone received.
"""

from __future__ import annotations

import secrets
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from accounts.tests.factories import MembershipFactory, UserFactory
from messaging import sending, tasks
from messaging.models import Message
from messaging.reasons import RETRYING
from messaging.tests.factories import friend_chat, linesim_channel, logged_send
from tests.support import wait_until

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel(linesim):
    return linesim_channel(linesim)


@pytest.fixture
def agent_client(client, channel):
    client.force_login(MembershipFactory(channel=channel, role=Role.SUPPORT, user=UserFactory(username="agent")).user)
    return client


@pytest.fixture
def friend(linesim, channel):
    """A friend linesim knows, and their conversation (no fresh reply token: staff sends are pushes)."""
    user_id = linesim.add_user(channel.channel_id, "Mei Lin")["userId"]
    return friend_chat(channel, user_id=user_id)


def received(linesim, channel, endpoint="push") -> list[dict]:
    return linesim.ledger(channelId=channel.channel_id, endpoint=endpoint)


def thread(client, conversation) -> str:
    return client.get(reverse("inbox-conversation", args=[conversation.channel_id, conversation.pk])).content.decode()


def test_a_push_whose_answer_never_came_is_sent_again_with_its_retry_key_and_arrives_once(
    agent_client, channel, friend, linesim, django_capture_on_commit_callbacks
):
    linesim.fault("drop", "push", count=1)  # LINE accepts it, the answer is lost on the way back

    with django_capture_on_commit_callbacks(execute=True):
        agent_client.post(reverse("inbox-reply", args=[channel.pk, friend.pk]), {"text": "Your parcel left today"})

    [send] = received(linesim, channel)
    assert send["to"] == [friend.source_id] and send["messages"] == [{"type": "text", "text": "Your parcel left today"}]
    row = Message.objects.get(direction="out")
    assert (row.delivery, row.via, row.send_attempts) == ("sent", "push", 2)
    assert (row.line_request_id, str(row.retry_key)) == (send["requestId"], send["retryKey"])
    page = thread(agent_client, friend)
    assert "LINE did not answer yet" in page and "pushed" in page
    assert linesim.summary()["dropped"] == 1


def test_a_reply_whose_answer_never_came_is_not_repeated_and_the_agent_is_told_it_may_have_arrived(
    agent_client, channel, friend, linesim
):
    token = secrets.token_hex(16)
    event = {"type": "message", "replyToken": token, "source": {"type": "user", "userId": friend.source_id}}
    linesim.control("POST", f"/_sim/channels/{channel.channel_id}/webhook", json={"events": [event]})
    friend.reply_token, friend.reply_token_received_at = token, timezone.now()
    friend.save(update_fields=["reply_token", "reply_token_received_at"])
    linesim.fault("drop", "reply", count=1)

    response = agent_client.post(
        reverse("inbox-reply", args=[channel.pk, friend.pk]), {"text": "On its way!"}, follow=True
    )

    assert len(received(linesim, channel, "reply")) == 1 and not received(linesim, channel)
    page = response.content.decode()
    assert "Not confirmed:" in page and "may or may not have reached them" in page
    assert 'data-testid="resend"' in page
    assert Message.objects.get(direction="out").delivery == "failed"


def test_a_reply_cut_off_by_a_dead_worker_is_marked_not_confirmed_and_the_agent_can_resend_it_as_a_push(
    agent_client, channel, friend, linesim
):
    expired = timezone.now() - timedelta(seconds=1)
    [row] = logged_send(friend, "We are on it", delivery="sending", via="reply", locked_until=expired, send_attempts=1)

    tasks.sweep_webhook_events()  # what beat runs every 30 s

    row.refresh_from_db()
    assert row.delivery == "failed" and not received(linesim, channel)
    assert "may or may not have reached them" in thread(agent_client, friend)

    agent_client.post(reverse("inbox-resend", args=[channel.pk, friend.pk, row.pk]))

    [send] = received(linesim, channel)
    assert send["messages"] == [{"type": "text", "text": "We are on it"}]
    assert Message.objects.filter(direction="out", delivery="sent", via="push").count() == 1
    row.refresh_from_db()
    assert row.delivery == "failed"  # the first attempt keeps its story in the thread


def test_a_staff_send_whose_task_was_lost_goes_out_and_a_late_auto_reply_does_not(channel, friend, linesim):
    minutes_ago = timedelta(minutes=2)
    lost = logged_send(friend, "Sorry for the wait", "Here is your code", age=minutes_ago)
    [auto] = logged_send(friend, "Thanks for writing!", sender=Message.Sender.AUTO_REPLY, age=minutes_ago)
    [done] = logged_send(friend, "Earlier reply", age=minutes_ago, delivery="sent", via="push")

    tasks.sweep_webhook_events()

    [send] = received(linesim, channel)
    assert [m["text"] for m in send["messages"]] == ["Sorry for the wait", "Here is your code"]
    assert {m.delivery for m in Message.objects.filter(pk__in=[r.pk for r in lost])} == {"sent"}
    auto.refresh_from_db()
    assert auto.delivery == "failed" and "reply token expired" in auto.error_text
    done.refresh_from_db()
    assert (done.delivery, done.send_attempts) == ("sent", 0)


def test_a_push_line_keeps_failing_is_given_up_after_several_tries_and_says_so(
    agent_client, channel, friend, linesim, django_capture_on_commit_callbacks
):
    linesim.fault("500", "push", fraction=1.0)

    with django_capture_on_commit_callbacks(execute=True):
        agent_client.post(reverse("inbox-reply", args=[channel.pk, friend.pk]), {"text": "Hello?"})

    row = Message.objects.get(direction="out")
    assert (row.delivery, row.send_attempts) == ("failed", sending.MAX_SEND_ATTEMPTS)
    assert "may not have reached them" in thread(agent_client, friend)
    assert not received(linesim, channel)


def _swept_later(seconds: float) -> None:
    """What beat's sweeper does once `seconds` have passed."""
    for message_pks in sending.sweep(now=timezone.now() + timedelta(seconds=seconds)):
        tasks.deliver_messages.delay(message_pks, allow_push=True)


def _wait_sent(row, worker) -> Message:
    wait_until(
        lambda: Message.objects.get(pk=row.pk).delivery == "sent",
        timeout=60,
        message=lambda: "the push to be confirmed\n" + worker.output()[-3000:],
    )
    return Message.objects.get(pk=row.pk)


@pytest.mark.worker
@pytest.mark.timeout(180)
def test_a_worker_killed_in_the_middle_of_a_push_leaves_it_to_the_sweeper_and_the_friend_gets_it_once(
    celery_worker_process, linesim
):
    channel = linesim_channel(linesim)
    user_id = linesim.add_user(channel.channel_id, "Mei Lin")["userId"]
    [row] = logged_send(friend_chat(channel, user_id=user_id), "Your refund was approved")
    linesim.fault("latency", "push", count=1, latencyMs=3000)  # the worker waits on LINE...

    tasks.deliver_messages.delay([row.pk], allow_push=True)
    wait_until(
        lambda: Message.objects.filter(pk=row.pk, via="push", delivery="sending").exists(),
        timeout=60,
        message=lambda: "the worker to start the push\n" + celery_worker_process.output()[-2000:],
    )
    time.sleep(0.5)
    celery_worker_process.kill()  # ...and dies mid-call
    time.sleep(3)
    assert Message.objects.get(pk=row.pk).delivery == "sending"  # nobody is left to finish it

    celery_worker_process.start()
    _swept_later(sending.SEND_LEASE.total_seconds() + 1)
    row = _wait_sent(row, celery_worker_process)

    [send] = received(linesim, channel)
    assert send["to"] == [user_id] and send["messages"] == [{"type": "text", "text": "Your refund was approved"}]
    assert (row.line_request_id, row.send_attempts) == (send["requestId"], 2)


@pytest.mark.worker
@pytest.mark.timeout(180)
def test_a_push_line_accepted_whose_worker_died_before_retrying_is_confirmed_by_its_retry_key_not_resent(
    celery_worker_process, linesim
):
    channel = linesim_channel(linesim)
    user_id = linesim.add_user(channel.channel_id, "Mei Lin")["userId"]
    [row] = logged_send(friend_chat(channel, user_id=user_id), "Your order shipped")
    linesim.fault("drop", "push", count=1)  # LINE accepts it; the answer never reaches the worker

    tasks.deliver_messages.delay([row.pk], allow_push=True)
    wait_until(
        lambda: Message.objects.filter(pk=row.pk, delivery="pending", send_attempts=1, error=RETRYING).exists(),
        timeout=60,
        message=lambda: "the worker to schedule its retry\n" + celery_worker_process.output()[-2000:],
    )
    celery_worker_process.kill()  # the retry it scheduled dies with it
    assert len(received(linesim, channel)) == 1

    celery_worker_process.start()
    _swept_later(sending.send_backoff(1) + sending.PENDING_GRACE.total_seconds() + 1)
    row = _wait_sent(row, celery_worker_process)

    [send] = received(linesim, channel)  # the second push got 409: already accepted
    assert send["to"] == [user_id] and (row.line_request_id, row.send_attempts) == (send["requestId"], 2)
    assert linesim.summary()["byStatus"].get("409") == 1
