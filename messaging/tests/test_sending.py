"""Unit checks of the sending rules a support agent depends on (no LINE involved)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import ChannelFactory
from messaging import sending
from messaging.models import Message
from messaging.reasons import PUSH_UNCONFIRMED, REPLY_UNCONFIRMED, RETRYING, reason_text
from messaging.tests.factories import friend_chat, logged_send

pytestmark = pytest.mark.django_db

LATER = timedelta(minutes=5)


@pytest.fixture
def conversation():
    return friend_chat(ChannelFactory())


def test_retries_back_off_and_honour_lines_retry_after():
    assert [sending.send_backoff(n) for n in (1, 2, 3, 4)] == [5, 15, 45, 135]
    assert sending.send_backoff(20) == 1200
    assert sending.send_backoff(1, retry_after=60) == 60


def test_the_sweeper_pushes_a_three_part_send_again_as_one_send(conversation):
    expired = timezone.now() - timedelta(seconds=1)
    rows = logged_send(conversation, "a", "b", "c", delivery="sending", via="push", locked_until=expired)

    assert sending.sweep() == [[r.pk for r in rows]]
    assert {m.error for m in Message.objects.filter(pk__in=[r.pk for r in rows])} == {RETRYING}


def test_the_sweeper_leaves_sends_in_flight_settled_sends_and_campaigns_alone(conversation):
    logged_send(conversation, "in flight", delivery="sending", via="push", locked_until=timezone.now() + LATER)
    logged_send(conversation, "done", delivery="sent", via="push", age=LATER)
    logged_send(conversation, "campaign", sender=Message.Sender.CAMPAIGN, age=LATER)

    assert sending.sweep() == []


def test_an_unconfirmed_reply_is_never_sent_again(conversation):
    expired = timezone.now() - timedelta(seconds=1)
    [row] = logged_send(conversation, "hi", delivery="sending", via="reply", locked_until=expired)

    assert sending.sweep() == []
    row.refresh_from_db()
    assert (row.delivery, row.error, row.outcome_unknown) == ("failed", REPLY_UNCONFIRMED, True)


def test_a_push_older_than_its_retry_key_is_not_sent_again(conversation):
    expired = timezone.now() - timedelta(seconds=1)
    [row] = logged_send(
        conversation, "old", delivery="sending", via="push", locked_until=expired, age=timedelta(hours=23, minutes=1)
    )

    assert sending.sweep() == []
    row.refresh_from_db()
    assert (row.delivery, row.error) == ("failed", PUSH_UNCONFIRMED)


def test_a_failure_never_overwrites_a_confirmed_send(conversation):
    [row] = logged_send(conversation, "hi", delivery="sent", via="push")

    sending._failed([row], "push", REPLY_UNCONFIRMED)

    row.refresh_from_db()
    assert row.delivery == "sent"


def test_reasons_are_shown_in_the_readers_language_and_lines_own_words_kept():
    from django.utils import translation

    with translation.override("ja"):
        assert reason_text("") == ""
        assert reason_text("LINE refused the message: Bad request").endswith("Bad request")
        assert reason_text("Some exception text") == "Some exception text"


def test_a_send_logged_without_a_retry_key_gets_one_stored_before_it_is_pushed(conversation):
    from lineapi import SendResult, SentMessage

    [row] = logged_send(conversation, "hello", retry_key=None)
    seen = []

    class Client:
        def push(self, to, messages, *, retry_key):
            seen.append((str(retry_key), str(Message.objects.get(pk=row.pk).retry_key)))
            return SendResult("req-1", "req-1", (SentMessage("9001"),))

    outcome = sending.deliver([row.pk], client_for=lambda channel: Client(), allow_push=True)

    assert outcome.ok and len(seen) == 1
    sent_with, stored_before = seen[0]
    assert sent_with == stored_before != "None"
