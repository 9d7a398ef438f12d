"""Writes for friends, groups, conversations and the message log. Handlers, views, the API and tasks call these."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from .models import Conversation, FollowEvent, Friend, Group, GroupMember, Message, SavedReply, Tag

log = logging.getLogger(__name__)

PROFILE_MAX_AGE = timedelta(hours=24)
# LINE: use a reply token within a minute of receiving the webhook. Keep a margin for the call itself.
REPLY_TOKEN_TTL = timedelta(seconds=50)


# -- friends -------------------------------------------------------------------


def friend_touch(*, channel, user_id: str, at: datetime | None = None, contact: bool = True) -> Friend:
    """The friend for a LINE user, created on first sight; first/last contact follow `at`.

    Schedules a profile fetch when we have none or it is a day old (never inside the webhook request).
    """
    from .tasks import fetch_profile

    friend, created = Friend.objects.get_or_create(
        channel=channel,
        user_id=user_id,
        defaults={"first_contact_at": at if contact else None, "last_contact_at": at if contact else None},
    )
    if not created and contact and at is not None:
        changed = []
        if friend.first_contact_at is None or at < friend.first_contact_at:
            friend.first_contact_at = at
            changed.append("first_contact_at")
        if friend.last_contact_at is None or at > friend.last_contact_at:
            friend.last_contact_at = at
            changed.append("last_contact_at")
        if changed:
            friend.save(update_fields=changed)
    stale = friend.profile_fetched_at is None or friend.profile_fetched_at < timezone.now() - PROFILE_MAX_AGE
    if stale:
        fetch_profile.delay_on_commit(friend.pk)
    return friend


def _last_follow_change(friend: Friend) -> datetime | None:
    times = [t for t in (friend.followed_at, friend.blocked_at, friend.unblocked_at) if t]
    return max(times) if times else None


@transaction.atomic
def friend_record_follow(*, friend: Friend, kind: str, at: datetime, webhook_event=None) -> bool:
    """Record a follow, block or unblock; returns True when it changed the friend's current state.

    History keeps every event; the current state only moves forward in time, so a late or redelivered
    event never undoes a newer one.
    """
    if webhook_event is not None:
        _, created = FollowEvent.objects.get_or_create(
            webhook_event=webhook_event, defaults={"friend": friend, "kind": kind, "at": at}
        )
        if not created:
            return False
    else:
        FollowEvent.objects.create(friend=friend, kind=kind, at=at)
    last = _last_follow_change(friend)
    if last is not None and at < last:
        return False
    if kind == FollowEvent.Kind.BLOCKED:
        friend.is_following, friend.blocked_at = False, at
    elif kind == FollowEvent.Kind.UNBLOCKED:
        friend.is_following, friend.unblocked_at = True, at
        friend.followed_at = friend.followed_at or at
    else:
        friend.is_following, friend.followed_at = True, at
    friend.save(update_fields=["is_following", "followed_at", "blocked_at", "unblocked_at"])
    return True


@transaction.atomic
def friend_update_profile(*, friend: Friend, profile) -> Friend:
    friend.display_name = (profile.display_name or "")[:200]
    friend.picture_url = (profile.picture_url or "")[:1000]
    friend.status_message = (profile.status_message or "")[:1000]
    friend.language = (profile.language or "")[:20]
    friend.profile_fetched_at = timezone.now()
    friend.save(update_fields=["display_name", "picture_url", "status_message", "language", "profile_fetched_at"])
    return friend


@transaction.atomic
def friend_set_tags(*, friend: Friend, add: list[str] = (), remove: list[str] = ()) -> list[Tag]:
    """Add tags by name (created on first use) and remove others; returns the friend's tags."""
    for name in {n.strip()[:50] for n in add if n and n.strip()}:
        tag, _ = Tag.objects.get_or_create(channel_id=friend.channel_id, name=name)
        friend.tags.add(tag)
    if remove:
        friend.tags.remove(*Tag.objects.filter(channel_id=friend.channel_id, name__in=list(remove)))
    return list(friend.tags.all())


@transaction.atomic
def friend_set_notes(*, friend: Friend, notes: str) -> Friend:
    friend.notes = notes
    friend.save(update_fields=["notes"])
    return friend


# -- groups --------------------------------------------------------------------


def group_touch(*, channel, kind: str, group_id: str, joined_at: datetime | None = None) -> Group:
    from .tasks import fetch_group_summary

    group, created = Group.objects.get_or_create(
        channel=channel, group_id=group_id, defaults={"kind": kind, "joined_at": joined_at}
    )
    if created or group.summary_fetched_at is None:
        fetch_group_summary.delay_on_commit(group.pk)
    return group


def group_set_membership(*, group: Group, is_member: bool, at: datetime) -> None:
    """The bot joined or left; only a newer event changes the state."""
    last = max([t for t in (group.joined_at, group.left_at) if t], default=None)
    if last is not None and at < last:
        return
    if is_member:
        group.is_member, group.joined_at = True, at
    else:
        group.is_member, group.left_at = False, at
    group.save(update_fields=["is_member", "joined_at", "left_at"])


def group_members_change(*, group: Group, user_ids: list[str], joined: bool, at: datetime) -> None:
    for user_id in user_ids:
        member, _ = GroupMember.objects.get_or_create(group=group, user_id=user_id)
        last = max([t for t in (member.joined_at, member.left_at) if t], default=None)
        if last is not None and at < last:
            continue
        member.is_member = joined
        if joined:
            member.joined_at = at
        else:
            member.left_at = at
        member.save(update_fields=["is_member", "joined_at", "left_at"])


# -- conversations and the log ------------------------------------------------


def conversation_for_friend(friend: Friend) -> Conversation:
    conversation, _ = Conversation.objects.get_or_create(
        channel_id=friend.channel_id,
        source_id=friend.user_id,
        defaults={"source_type": "user", "friend": friend, "last_message_at": friend.last_contact_at or timezone.now()},
    )
    return conversation


def conversation_for_group(group: Group) -> Conversation:
    conversation, _ = Conversation.objects.get_or_create(
        channel_id=group.channel_id,
        source_id=group.group_id,
        defaults={"source_type": group.kind, "group": group, "last_message_at": group.joined_at or timezone.now()},
    )
    return conversation


def conversation_bump(
    *, conversation: Conversation, message: Message, unread: bool = False, reply_token: str = "", received_at=None
) -> None:
    """Move the conversation up the list with this message (older, late-arriving lines do not)."""
    fields = []
    if message.sent_at >= conversation.last_message_at or not conversation.last_message_preview:
        conversation.last_message_at = max(message.sent_at, conversation.last_message_at)
        conversation.last_message_preview = (message.text or "")[:120]
        conversation.last_message_type = message.type
        fields += ["last_message_at", "last_message_preview", "last_message_type"]
    if unread:
        conversation.unread_count += 1
        fields.append("unread_count")
        if conversation.status == Conversation.Status.RESOLVED:
            conversation.status = Conversation.Status.OPEN
            fields.append("status")
    if reply_token:
        conversation.reply_token = reply_token
        conversation.reply_token_received_at = received_at or timezone.now()
        fields += ["reply_token", "reply_token_received_at"]
    if fields:
        conversation.save(update_fields=fields)


def reply_token_if_fresh(conversation: Conversation, *, now=None) -> str:
    now = now or timezone.now()
    received = conversation.reply_token_received_at
    if conversation.reply_token and received and now - received < REPLY_TOKEN_TTL:
        return conversation.reply_token
    return ""


def consume_reply_token(conversation: Conversation, token: str) -> bool:
    """Take the conversation's reply token for one send; False when someone else already used it."""
    return bool(
        Conversation.objects.filter(pk=conversation.pk, reply_token=token)
        .exclude(reply_token="")
        .update(reply_token="")
    )


@transaction.atomic
def conversation_mark_read(*, conversation: Conversation) -> None:
    if conversation.unread_count:
        Conversation.objects.filter(pk=conversation.pk).update(unread_count=0)
        conversation.unread_count = 0


@transaction.atomic
def conversation_assign(*, conversation: Conversation, assignee, actor) -> Conversation:
    conversation.assignee = assignee
    conversation.save(update_fields=["assignee"])
    _system_note(conversation, actor, "assigned", {"assignee": assignee.get_username() if assignee else ""})
    return conversation


@transaction.atomic
def conversation_set_status(*, conversation: Conversation, status: str, actor) -> Conversation:
    if status not in Conversation.Status.values:
        raise ValueError(status)
    if conversation.status != status:
        conversation.status = status
        conversation.save(update_fields=["status"])
        _system_note(conversation, actor, "status", {"status": status})
    return conversation


@transaction.atomic
def note_add(*, conversation: Conversation, author, text: str) -> Message:
    """An internal note: visible to staff in the thread, never sent to LINE."""
    return Message.objects.create(
        channel_id=conversation.channel_id,
        conversation=conversation,
        direction=Message.Direction.NOTE,
        type="note",
        sender=Message.Sender.STAFF,
        staff=author,
        text=text,
        delivery=Message.Delivery.SENT,
    )


def _system_note(conversation, actor, kind: str, payload: dict) -> Message:
    return Message.objects.create(
        channel_id=conversation.channel_id,
        conversation=conversation,
        direction=Message.Direction.NOTE,
        type=kind,
        sender=Message.Sender.STAFF,
        staff=actor,
        payload=payload,
        delivery=Message.Delivery.SENT,
    )


# -- saved replies -------------------------------------------------------------


@transaction.atomic
def saved_reply_create(*, channel, title: str, text: str) -> SavedReply:
    return SavedReply.objects.create(channel=channel, title=title.strip(), text=text.strip())


@transaction.atomic
def saved_reply_update(*, saved_reply: SavedReply, title: str, text: str) -> SavedReply:
    saved_reply.title, saved_reply.text = title.strip(), text.strip()
    saved_reply.save(update_fields=["title", "text"])
    return saved_reply


@transaction.atomic
def saved_reply_delete(*, saved_reply: SavedReply) -> None:
    saved_reply.delete()
