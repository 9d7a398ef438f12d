"""Sending into a conversation: every send is a row before it is a request.

A staff reply uses the conversation's reply token while it is fresh (free) and push otherwise; auto-replies
and the greeting only ever use the reply token. LINE's refusals are stored on the rows in plain words.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from lineapi import LineAPIError

from .models import Conversation, Message
from .services import consume_reply_token, conversation_bump, reply_token_if_fresh

log = logging.getLogger(__name__)


class SendRefused(Exception):
    """We refuse before calling LINE (e.g. the friend blocked the account)."""


@dataclass
class Outcome:
    messages: list[Message]
    via: str
    ok: bool
    error: str = ""


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
            delivery=Message.Delivery.PENDING,
            retry_key=key,
        )
        for i, m in enumerate(messages)
    ]
    conversation_bump(conversation=conversation, message=rows[-1])
    return rows


def refusal_text(exc: LineAPIError) -> str:
    """What LINE's refusal means, in words a support agent can act on."""
    if exc.kind == "quota":
        return _("The channel has used up this month's message quota; LINE refuses push messages until it resets.")
    if exc.kind == "rate_limit":
        return _("LINE is limiting how fast this channel sends; try again in a moment.")
    if exc.kind == "auth":
        return _("LINE refused the channel's access token; an admin should check the channel settings.")
    if exc.kind in ("server", "timeout", "connection"):
        return _("LINE could not be reached; the message was not sent. Try again.")
    if exc.kind == "not_found":
        return _("LINE does not know this recipient (they may have blocked the account or left).")
    if "reply token" in (exc.message or "").lower():
        return _("The reply token had expired or was already used.")
    return _("LINE refused the message: %(reason)s") % {"reason": exc.message or exc.status}


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


def deliver(message_pks: list[int], *, client_for, reply_token: str = "", allow_push: bool = True) -> Outcome:
    """Send pending rows (one LINE request); returns which path was used and whether LINE accepted."""
    claimed = Message.objects.filter(pk__in=message_pks, delivery=Message.Delivery.PENDING).update(
        delivery=Message.Delivery.SENDING
    )
    rows = list(
        Message.objects.filter(pk__in=message_pks).select_related("conversation__friend", "channel").order_by("part")
    )
    if not claimed or not rows:
        return Outcome(rows, "", False, _("Already sent."))
    conversation, client = rows[0].conversation, client_for(rows[0].channel)
    friend = conversation.friend
    if friend is not None and not friend.is_following and friend.blocked_at:
        reason = _("%(name)s has blocked the account; LINE will not deliver messages.") % {"name": friend.name}
        return _failed(rows, "reply" if reply_token else "push", None, reason)
    payloads = _personalize(rows, conversation, client)
    # Auto-replies hold their event's token alone; staff take the conversation's token (once) from it.
    use_reply = bool(reply_token) and (not allow_push or consume_reply_token(conversation, reply_token))
    if use_reply:
        try:
            return _done(rows, "reply", client.reply(reply_token, payloads))
        except LineAPIError as exc:
            if not (allow_push and exc.kind == "client" and "reply token" in (exc.message or "").lower()):
                return _failed(rows, "reply", exc)
    if not allow_push:
        return _failed(rows, "reply", None, _("No fresh reply token."))
    try:
        return _done(rows, "push", client.push(conversation.source_id, payloads, retry_key=rows[0].retry_key))
    except LineAPIError as exc:
        return _failed(rows, "push", exc)


def _done(rows: list[Message], via: str, result) -> Outcome:
    sent = list(result.sent_messages)
    for i, row in enumerate(rows):
        row.via, row.delivery, row.error = via, Message.Delivery.SENT, ""
        row.line_request_id = (result.accepted_request_id or result.request_id or "")[:64]
        if i < len(sent):
            row.line_message_id = sent[i].id[:32]
            row.quote_token = (sent[i].quote_token or "")[:256]
        row.save(update_fields=["via", "delivery", "error", "line_request_id", "line_message_id", "quote_token"])
    return Outcome(rows, via, True)


def _failed(rows: list[Message], via: str, exc: LineAPIError | None, reason: str = "") -> Outcome:
    reason = reason or refusal_text(exc)
    for row in rows:
        row.via, row.delivery, row.error = via, Message.Delivery.FAILED, reason
        row.line_request_id = ((exc.request_id if exc else "") or "")[:64]
        row.save(update_fields=["via", "delivery", "error", "line_request_id"])
    return Outcome(rows, via, False, reason)


def send_from_inbox(*, conversation: Conversation, messages: list[dict], staff, client_for) -> Outcome:
    """A staff reply: logged first, then sent with the reply token if still fresh, else pushed."""
    rows = outbound_create(conversation=conversation, messages=messages, sender=Message.Sender.STAFF, staff=staff)
    token = reply_token_if_fresh(conversation)
    return deliver([r.pk for r in rows], client_for=client_for, reply_token=token, allow_push=True)
