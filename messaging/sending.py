"""Sending into a conversation: every send is a row before it is a request.

A staff reply uses the conversation's reply token while it is fresh (free) and push otherwise; auto-replies
and the greeting only ever use the reply token. LINE's refusals are stored on the rows in plain words.

A send in flight holds a lease (`locked_until`) and records which path it took (`via`) before it calls LINE.
When the call's outcome is not known (a timeout, a dropped connection, a dead worker):
- a push is sent again with its stored `X-Line-Retry-Key`; LINE answers 409 to a key it already accepted
  (lineapi reports `already_accepted`), so the friend gets it exactly once. Retries back off and stop before
  the key's 24 hours run out.
- a reply cannot be retried safely (a reply token has no retry key), so it is marked failed with a reason
  that says it may have arrived; the agent can resend it as a push.
`sweep()` (beat, every 30 s) finds sends whose lease ran out or whose retry is overdue.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from lineapi import LineAPIError

from .models import Conversation, Message
from .reasons import AUTO_REPLY_LATE, PUSH_UNCONFIRMED, REFUSED, REPLY_UNCONFIRMED, RETRYING
from .services import consume_reply_token, conversation_bump, reply_token_if_fresh

log = logging.getLogger(__name__)

Delivery = Message.Delivery
# Longer than a LINE call can take (3 s connect + 15 s read timeout, plus a profile fetch).
SEND_LEASE = timedelta(seconds=getattr(settings, "MESSAGING_SEND_LEASE_SECONDS", 60))
MAX_SEND_ATTEMPTS = 8
RETRY_KEY_TTL = timedelta(hours=23)  # LINE remembers a retry key for 24 hours
PENDING_GRACE = timedelta(seconds=60)  # a pending send this much past due was lost with its task
UNKNOWN_OUTCOME = ("timeout", "connection", "server")  # LINE may have acted on the request


class SendRefused(Exception):
    """We refuse before calling LINE (e.g. the friend blocked the account)."""


@dataclass
class Outcome:
    messages: list[Message]
    via: str
    ok: bool
    error: str = ""  # English msgid or LINE's words; show with gettext()
    retrying: bool = False  # not confirmed yet: a retry with the same key is scheduled


def preview_text(message: dict) -> str:
    if message.get("type") == "text":
        return str(message.get("text") or "")
    return ""


@transaction.atomic
def outbound_create(
    *, conversation: Conversation, messages: list[dict], sender: str, staff=None, webhook_event=None
) -> list[Message]:
    """Log messages we are about to send (delivery pending); one retry key shared by the whole send."""
    if not 1 <= len(messages) <= 5:
        raise ValueError("LINE sends one to five messages at a time")
    key = uuid.uuid4()
    rows = [
        Message.objects.create(
            channel_id=conversation.channel_id,
            conversation=conversation,
            direction=Message.Direction.OUTBOUND,
            type=str(m.get("type") or "")[:24],
            sender=sender,
            staff=staff,
            text=preview_text(m),
            payload=m,
            webhook_event=webhook_event,
            part=i,
            delivery=Delivery.PENDING,
            retry_key=key,
        )
        for i, m in enumerate(messages)
    ]
    conversation_bump(conversation=conversation, message=rows[-1])
    return rows


def refusal_text(exc: LineAPIError) -> str:
    """What LINE's refusal means, in words a support agent can act on (English; gettext() to show)."""
    if exc.kind == "quota":
        return gettext_noop(
            "The channel has used up this month's message quota; LINE refuses push messages until it resets."
        )
    if exc.kind == "rate_limit":
        return gettext_noop("LINE is limiting how fast this channel sends; try again in a moment.")
    if exc.kind == "auth":
        return gettext_noop("LINE refused the channel's access token; an admin should check the channel settings.")
    if exc.kind in UNKNOWN_OUTCOME:
        return gettext_noop("LINE could not be reached; the message was not sent. Try again.")
    if exc.kind == "not_found":
        return gettext_noop("LINE does not know this recipient (they may have blocked the account or left).")
    if "reply token" in (exc.message or "").lower():
        return gettext_noop("The reply token had expired or was already used.")
    return REFUSED % {"reason": exc.message or exc.status}


def _personalize(rows: list[Message], conversation: Conversation, client) -> list[dict]:
    """Fill `{name}` with the friend's display name (fetching the profile if we have none yet)."""
    friend = conversation.friend
    payloads = [dict(r.payload) for r in rows]
    if friend is None or not any("{name}" in str(p.get("text", "")) for p in payloads):
        return payloads
    if not friend.display_name:
        try:
            from .services import friend_update_profile

            friend_update_profile(friend=friend, profile=client.get_profile(friend.user_id))
        except LineAPIError:
            pass
    for row, payload in zip(rows, payloads, strict=True):
        if "{name}" in str(payload.get("text", "")):
            payload["text"] = payload["text"].replace("{name}", friend.display_name or _("friend"))
            row.payload, row.text = payload, payload["text"]
            row.save(update_fields=["payload", "text"])
    return payloads


def _claim(message_pks: list[int]) -> list[Message] | None:
    """Take pending rows for one attempt (a lease, attempts + 1), with a retry key stored before any call."""
    now = timezone.now()
    claimed = Message.objects.filter(pk__in=message_pks, delivery=Delivery.PENDING).update(
        delivery=Delivery.SENDING, locked_until=now + SEND_LEASE, send_attempts=F("send_attempts") + 1
    )
    if not claimed:
        return None
    Message.objects.filter(pk__in=message_pks, retry_key__isnull=True).update(retry_key=uuid.uuid4())
    return list(
        Message.objects.filter(pk__in=message_pks).select_related("conversation__friend", "channel").order_by("part")
    )


def _attempting(rows: list[Message], via: str) -> None:
    """Say which path this attempt takes before calling LINE: the sweeper decides on it if we die."""
    Message.objects.filter(pk__in=[r.pk for r in rows]).update(via=via)
    for row in rows:
        row.via = via


def deliver(message_pks: list[int], *, client_for, reply_token: str = "", allow_push: bool = True) -> Outcome:
    """Send pending rows (one LINE request); returns which path was used and whether LINE accepted."""
    rows = _claim(message_pks)
    if not rows:
        return Outcome(list(Message.objects.filter(pk__in=message_pks)), "", False, gettext_noop("Already sent."))
    conversation, client = rows[0].conversation, client_for(rows[0].channel)
    friend = conversation.friend
    if friend is not None and not friend.is_following and friend.blocked_at:
        reason = gettext_noop("This friend has blocked the account; LINE will not deliver messages.")
        return _failed(rows, "reply" if reply_token else "push", reason)
    payloads = _personalize(rows, conversation, client)
    # Auto-replies hold their event's token alone; staff take the conversation's token (once) from it.
    use_reply = bool(reply_token) and (not allow_push or consume_reply_token(conversation, reply_token))
    if use_reply:
        _attempting(rows, "reply")
        try:
            return _done(rows, "reply", client.reply(reply_token, payloads))
        except LineAPIError as exc:
            if exc.kind in UNKNOWN_OUTCOME:
                log.warning("reply of messages %s not confirmed: %s", message_pks, exc)
                return _failed(rows, "reply", REPLY_UNCONFIRMED, exc)
            if not (allow_push and exc.kind == "client" and "reply token" in (exc.message or "").lower()):
                return _failed(rows, "reply", refusal_text(exc), exc)
    if not allow_push:
        return _failed(rows, "reply", gettext_noop("No fresh reply token."))
    _attempting(rows, "push")
    try:
        return _done(rows, "push", client.push(conversation.source_id, payloads, retry_key=rows[0].retry_key))
    except LineAPIError as exc:
        return _push_failed(rows, exc)


def send_backoff(attempts: int, retry_after: float | None = None) -> int:
    """Seconds before the next push attempt: 5, 15, 45 s ... capped at 20 min (or LINE's Retry-After)."""
    return int(max(retry_after or 0, min(5 * 3 ** max(attempts - 1, 0), 1200)))


def _push_failed(rows: list[Message], exc: LineAPIError) -> Outcome:
    first = rows[0]
    if not exc.retryable:
        return _failed(rows, "push", refusal_text(exc), exc)
    if first.send_attempts >= MAX_SEND_ATTEMPTS or first.created_at < timezone.now() - RETRY_KEY_TTL:
        return _failed(rows, "push", PUSH_UNCONFIRMED, exc)
    delay = send_backoff(first.send_attempts, exc.retry_after)
    pks = [r.pk for r in rows]
    Message.objects.filter(pk__in=pks, delivery=Delivery.SENDING).update(
        delivery=Delivery.PENDING,
        locked_until=None,
        error=RETRYING,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
    )
    for row in rows:
        row.delivery, row.error = Delivery.PENDING, RETRYING
    from .tasks import deliver_messages

    log.info("push of messages %s not confirmed (%s); retrying in %s s with the same key", pks, exc.kind, delay)
    transaction.on_commit(partial(deliver_messages.apply_async, (pks,), {"allow_push": True}, countdown=delay))
    return Outcome(rows, "push", False, RETRYING, retrying=True)


def _done(rows: list[Message], via: str, result) -> Outcome:
    """LINE accepted (or had accepted: 409 on the retry key). What LINE says wins over any sweeper verdict."""
    sent = list(result.sent_messages)
    for i, row in enumerate(rows):
        row.via, row.delivery, row.error = via, Delivery.SENT, ""
        row.locked_until = row.next_attempt_at = None
        row.line_request_id = (result.accepted_request_id or result.request_id or "")[:64]
        if i < len(sent):
            row.line_message_id = sent[i].id[:32]
            row.quote_token = (sent[i].quote_token or "")[:256]
        row.save(
            update_fields=[
                "via",
                "delivery",
                "error",
                "locked_until",
                "next_attempt_at",
                "line_request_id",
                "line_message_id",
                "quote_token",
            ]
        )
    return Outcome(rows, via, True)


def _failed(rows: list[Message], via: str, reason: str, exc: LineAPIError | None = None) -> Outcome:
    """Mark the send failed, unless it was confirmed sent meanwhile (sent is final)."""
    request_id = ((exc.request_id if exc else "") or "")[:64]
    Message.objects.filter(pk__in=[r.pk for r in rows]).exclude(delivery=Delivery.SENT).update(
        via=via, delivery=Delivery.FAILED, error=reason, line_request_id=request_id, locked_until=None
    )
    for row in rows:
        row.via, row.delivery, row.error, row.line_request_id = via, Delivery.FAILED, reason, request_id
    return Outcome(rows, via, False, reason)


def send_from_inbox(*, conversation: Conversation, messages: list[dict], staff, client_for) -> Outcome:
    """A staff reply: logged first, then sent with the reply token if still fresh, else pushed."""
    rows = outbound_create(conversation=conversation, messages=messages, sender=Message.Sender.STAFF, staff=staff)
    token = reply_token_if_fresh(conversation)
    return deliver([r.pk for r in rows], client_for=client_for, reply_token=token, allow_push=True)


def resend_as_push(*, message: Message, staff, client_for) -> Outcome:
    """Send a failed send's messages again, as a new push (new rows, new retry key); the old rows stay."""
    send = Message.objects.filter(
        conversation_id=message.conversation_id, retry_key=message.retry_key, delivery=Delivery.FAILED
    ).order_by("part")
    payloads = [dict(m.payload) for m in (send if message.retry_key else [message])]
    rows = outbound_create(
        conversation=message.conversation, messages=payloads, sender=Message.Sender.STAFF, staff=staff
    )
    return deliver([r.pk for r in rows], client_for=client_for, reply_token="", allow_push=True)


# -- the sweeper ------------------------------------------------------------------


def _sends(rows: list[Message]) -> list[list[Message]]:
    """Group rows into sends: one retry key per send (rows logged before retry keys: one send each)."""
    groups: dict[object, list[Message]] = {}
    for row in rows:
        groups.setdefault(row.retry_key or ("row", row.pk), []).append(row)
    return list(groups.values())


def _settle(rows: list[Message], expect: Q, **changes) -> bool:
    """Change a send's rows only while they are as the sweeper saw them (a live sender may finish first)."""
    return bool(Message.objects.filter(expect, pk__in=[r.pk for r in rows]).update(**changes))


def _take_over(send: list[Message], now) -> bool:
    """A send whose lease ran out: its sender died mid-send. True when it should be pushed again."""
    first = send[0]
    expect = Q(delivery=Delivery.SENDING, locked_until=first.locked_until)
    if first.via == "reply":
        _settle(send, expect, delivery=Delivery.FAILED, error=REPLY_UNCONFIRMED, locked_until=None)
        return False
    if first.sender != Message.Sender.STAFF:  # auto-replies and greetings only reply, and it is too late
        _settle(send, expect, delivery=Delivery.FAILED, error=AUTO_REPLY_LATE, locked_until=None)
        return False
    gave_up = first.send_attempts >= MAX_SEND_ATTEMPTS  # it keeps killing its sender
    if first.via == "push" and (gave_up or first.retry_key is None or first.created_at < now - RETRY_KEY_TTL):
        _settle(send, expect, delivery=Delivery.FAILED, error=PUSH_UNCONFIRMED, locked_until=None)
        return False
    return _settle(send, expect, delivery=Delivery.PENDING, locked_until=None, error=RETRYING, next_attempt_at=now)


def _overdue(send: list[Message]) -> bool:
    """A pending send nobody delivered (its task was lost). True when it should be pushed."""
    first = send[0]
    if first.sender == Message.Sender.STAFF:
        return True
    expect = Q(delivery=Delivery.PENDING)
    _settle(send, expect, delivery=Delivery.FAILED, error=AUTO_REPLY_LATE, next_attempt_at=None)
    return False


def sweep(*, now=None, limit: int = 500) -> list[list[int]]:
    """Sends a dead worker, web process or lost task left behind; returns the sends (row pks) to push again.

    Safe to run twice at once: every change is a conditional UPDATE on the state the sweeper read, and a
    push goes out again with the send's stored retry key.
    """
    now = now or timezone.now()
    outbound = Message.objects.filter(direction=Message.Direction.OUTBOUND).exclude(sender=Message.Sender.CAMPAIGN)
    stuck = outbound.filter(
        Q(locked_until__lt=now) | Q(locked_until__isnull=True, created_at__lt=now - SEND_LEASE),
        delivery=Delivery.SENDING,
    )
    lost = outbound.filter(
        Q(next_attempt_at__lt=now - PENDING_GRACE)
        | Q(next_attempt_at__isnull=True, created_at__lt=now - PENDING_GRACE),
        delivery=Delivery.PENDING,
    )
    again = [send for send in _sends(list(stuck.order_by("pk")[:limit])) if _take_over(send, now)]
    again += [send for send in _sends(list(lost.order_by("pk")[:limit])) if _overdue(send)]
    if again:
        log.warning("re-sending %d unsettled sends", len(again))
    return [[r.pk for r in send] for send in again]
