"""Messaging's own webhook handlers, one per event type; registered in MessagingConfig.ready().

Each runs inside the transaction that marks its event done (see processing.run), must be idempotent, and
leaves slow work (profiles, content downloads, sends) to tasks enqueued with delay_on_commit.
"""

from __future__ import annotations

from .. import autoreplies, content, services
from ..models import Conversation, Friend, Message, WebhookEvent
from .registry import register

MEDIA_TYPES = {"image", "video", "audio", "file"}
# Delivered only to module channels or LINE notification messages: recorded, nothing to do.
RECORD_ONLY = ("module", "activated", "deactivated", "botSuspended", "botResumed", "delivery")


def _reply_token(event: WebhookEvent) -> str:
    if event.mode == "standby":  # another module has the chat; the bot must stay silent
        return ""
    return str(event.payload.get("replyToken") or "")


def _context(event: WebhookEvent, *, contact: bool = True) -> tuple[Conversation | None, Friend | None]:
    """The conversation an event belongs to, creating the friend or group on first sight."""
    if event.source_type in ("group", "room"):
        group = services.group_touch(
            channel=event.channel, kind=event.source_type, group_id=event.source_id, joined_at=event.timestamp
        )
        return services.conversation_for_group(group), None
    if event.user_id:
        friend = services.friend_touch(
            channel=event.channel, user_id=event.user_id, at=event.timestamp, contact=contact
        )
        return services.conversation_for_friend(friend), friend
    return None, None


def _system_line(event: WebhookEvent, conversation: Conversation | None, kind: str, payload=None, text: str = ""):
    """A line in the thread for something that is not a message: follow, block, postback, join..."""
    if conversation is None:
        return None
    line, created = Message.objects.get_or_create(
        webhook_event=event,
        direction=Message.Direction.SYSTEM,
        part=0,
        defaults={
            "channel": event.channel,
            "conversation": conversation,
            "type": kind,
            "sender": Message.Sender.SYSTEM,
            "sender_user_id": event.user_id,
            "payload": payload if payload is not None else {},
            "text": text,
            "sent_at": event.timestamp,
        },
    )
    if created:
        services.conversation_bump(
            conversation=conversation, message=line, reply_token=_reply_token(event), received_at=event.received_at
        )
    return line


def _text_of(message: dict) -> str:
    kind = message.get("type")
    if kind == "text":
        return str(message.get("text") or "")
    if kind == "location":
        return " ".join(str(message.get(k) or "") for k in ("title", "address")).strip()
    if kind == "file":
        return str(message.get("fileName") or "")
    if kind == "sticker":
        return str(message.get("text") or "")
    return ""


def on_message(event: WebhookEvent) -> None:
    data = event.payload.get("message") or {}
    conversation, friend = _context(event)
    if conversation is None:
        return
    line_id = str(data.get("id") or "")[:32]
    if line_id and Message.objects.filter(channel=event.channel, line_message_id=line_id).exists():
        return  # the same message under another event ID: log it once
    kind = str(data.get("type") or "unknown")[:24]
    archivable = kind in MEDIA_TYPES and (data.get("contentProvider") or {}).get("type", "line") == "line"
    message = Message.objects.create(
        channel=event.channel,
        conversation=conversation,
        direction=Message.Direction.INBOUND,
        type=kind,
        sender=Message.Sender.FRIEND,
        sender_user_id=event.user_id,
        text=_text_of(data),
        payload=data,
        line_message_id=line_id,
        webhook_event=event,
        sent_at=event.timestamp,
        quote_token=str(data.get("quoteToken") or "")[:256],
        content_status=Message.ContentStatus.PENDING if archivable else "",
    )
    if line_id and content.unsent_earlier(event.channel, line_id):
        content.message_unsend(channel=event.channel, line_message_id=line_id)
        return
    token = _reply_token(event)
    answered = (
        token
        and friend is not None
        and kind == "text"
        and autoreplies.reply_if_matched(conversation=conversation, text=message.text, reply_token=token, event=event)
    )
    if answered:
        token = ""  # the auto-reply used it
    services.conversation_bump(
        conversation=conversation, message=message, unread=True, reply_token=token, received_at=event.received_at
    )
    if archivable:
        content.schedule_archive(message)


def on_message_edited(event: WebhookEvent) -> None:
    data = event.payload.get("message") or {}
    line_id = str(data.get("id") or "")
    message = Message.objects.filter(channel=event.channel, line_message_id=line_id, is_unsent=False).first()
    if message is None:
        on_message(event)  # the original never reached us: log the edited version
        return
    # Edits may arrive out of order; the newest one wins.
    if message.edited_at is None or event.timestamp > message.edited_at:
        message.text, message.payload, message.edited_at = _text_of(data), data, event.timestamp
        message.save(update_fields=["text", "payload", "edited_at"])


def on_unsend(event: WebhookEvent) -> None:
    line_id = str((event.payload.get("unsend") or {}).get("messageId") or "")
    if line_id:
        content.message_unsend(channel=event.channel, line_message_id=line_id)


def on_follow(event: WebhookEvent) -> None:
    conversation, friend = _context(event)
    if friend is None:
        return
    unblocked = bool((event.payload.get("follow") or {}).get("isUnblocked"))
    kind = "unblocked" if unblocked else "followed"
    changed = services.friend_record_follow(friend=friend, kind=kind, at=event.timestamp, webhook_event=event)
    token = _reply_token(event)
    line = _system_line(event, conversation, "unblocked" if unblocked else "follow", event.payload.get("follow"))
    if (
        changed
        and token
        and autoreplies.greet(conversation=conversation, reply_token=token, unblocked=unblocked, event=event)
    ):
        services.consume_reply_token(conversation, token)
    return line


def on_unfollow(event: WebhookEvent) -> None:
    conversation, friend = _context(event, contact=False)
    if friend is None:
        return
    services.friend_record_follow(friend=friend, kind="blocked", at=event.timestamp, webhook_event=event)
    _system_line(event, conversation, "unfollow")


def on_join_or_leave(event: WebhookEvent) -> None:
    conversation, _ = _context(event, contact=False)
    if conversation is None or conversation.group is None:
        return
    services.group_set_membership(group=conversation.group, is_member=event.type == "join", at=event.timestamp)
    _system_line(event, conversation, event.type)


def on_members(event: WebhookEvent) -> None:
    conversation, _ = _context(event, contact=False)
    if conversation is None or conversation.group is None:
        return
    joined = event.type == "memberJoined"
    members = (event.payload.get("joined" if joined else "left") or {}).get("members") or []
    user_ids = [str(m.get("userId")) for m in members if isinstance(m, dict) and m.get("userId")]
    services.group_members_change(group=conversation.group, user_ids=user_ids, joined=joined, at=event.timestamp)
    _system_line(event, conversation, event.type, {"userIds": user_ids})


def _recorder(kind: str, key: str | None):
    """A handler that logs the event as a system line in the thread (postback, beacon, ...)."""

    def handler(event: WebhookEvent) -> None:
        conversation, _ = _context(event)
        payload = event.payload.get(key) if key else {}
        text = str(payload.get("data") or "")[:1000] if isinstance(payload, dict) and kind == "postback" else ""
        _system_line(event, conversation, kind, payload or {}, text=text)

    handler.__name__ = f"on_{kind}"
    return handler


def on_account_link(event: WebhookEvent) -> None:
    """Logs the result in the thread; the linking app registers the handler that binds the customer."""
    if not event.user_id:
        return  # a failed link carries no source
    conversation, _ = _context(event)
    link = event.payload.get("link") or {}
    _system_line(event, conversation, "accountLink", {"result": link.get("result", "")})


def record_only(event: WebhookEvent) -> None:
    """Nothing for messaging to do; the raw event is kept."""


on_postback = _recorder("postback", "postback")
on_beacon = _recorder("beacon", "beacon")
on_video_play_complete = _recorder("videoPlayComplete", "videoPlayComplete")
on_membership = _recorder("membership", "membership")


def register_all() -> None:
    register("message", on_message)
    register("messageEdited", on_message_edited)
    register("unsend", on_unsend)
    register("follow", on_follow)
    register("unfollow", on_unfollow)
    register("join", on_join_or_leave)
    register("leave", on_join_or_leave)
    register("memberJoined", on_members)
    register("memberLeft", on_members)
    register("postback", on_postback)
    register("beacon", on_beacon)
    register("videoPlayComplete", on_video_play_complete)
    register("membership", on_membership)
    register("accountLink", on_account_link)
    for event_type in RECORD_ONLY:
        register(event_type, record_only)
