"""Campaign sends in the conversation log: each recipient's thread shows what the campaign sent them.

Written after LINE accepted a batch, off the sending path (a task per batch), in bulk: one query for the
recipients' conversations (missing ones are created), one insert for their log lines. The unique
constraint on (campaign, conversation, part) makes a re-run a no-op. Campaign lines do not move a
conversation up the inbox list or count as unread: they are the account's own words.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from .models import Conversation, Friend, Message

NAME_PLACEHOLDER = "{name}"


def _conversations(channel_id: int, user_ids: list[str]) -> dict[str, Conversation]:
    friends = dict(Friend.objects.filter(channel_id=channel_id, user_id__in=user_ids).values_list("user_id", "id"))
    existing = set(
        Conversation.objects.filter(channel_id=channel_id, source_id__in=user_ids).values_list("source_id", flat=True)
    )
    Conversation.objects.bulk_create(
        [
            Conversation(channel_id=channel_id, source_type="user", source_id=uid, friend_id=friends[uid])
            for uid in user_ids
            if uid in friends and uid not in existing
        ],
        ignore_conflicts=True,
    )
    rows = Conversation.objects.filter(channel_id=channel_id, source_id__in=user_ids).select_related("friend")
    return {c.source_id: c for c in rows}


def _text_for(message: dict, friend, personalize: bool) -> str:
    text = message.get("text") or message.get("altText") or ""
    if personalize and friend is not None:
        text = text.replace(NAME_PLACEHOLDER, friend.display_name or "")
    return text


@transaction.atomic
def campaign_sends_log(
    *,
    channel_id: int,
    campaign_id: int,
    user_ids: list[str],
    messages: list[dict],
    via: str,
    sent_at: datetime,
    request_id: str = "",
    personalize: bool = False,
) -> int:
    """Log `messages` as sent by the campaign to each of `user_ids` that is a friend of the channel.

    Returns how many lines were offered; those already logged by an earlier run are skipped by the database.
    """
    conversations = _conversations(channel_id, user_ids)
    rows = [
        Message(
            channel_id=channel_id,
            conversation=conversation,
            direction=Message.Direction.OUTBOUND,
            type=message.get("type", ""),
            sender=Message.Sender.CAMPAIGN,
            campaign_id=campaign_id,
            text=_text_for(message, conversation.friend, personalize),
            payload=message,
            sent_at=sent_at,
            via=via,
            delivery=Message.Delivery.SENT,
            line_request_id=request_id or "",
            part=part,
        )
        for conversation in conversations.values()
        for part, message in enumerate(messages)
    ]
    created = Message.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    return len(created)
