"""Rows for messaging's tests: friends with their conversation, logged sends, channels wired to linesim."""

from __future__ import annotations

import itertools
from datetime import timedelta

from django.utils import timezone

from accounts.tests.factories import ChannelFactory
from messaging.models import Conversation, Friend, Message

_numbers = itertools.count(1)


def linesim_channel(linesim, **kwargs):
    """A Channel whose API base is the running simulator, registered there with the same token."""
    channel = ChannelFactory(**kwargs)
    linesim.register_channel(channel.channel_id, channel.channel_secret, channel.access_token)
    channel.api_base = channel.data_api_base = linesim.base_url
    channel.save(update_fields=["api_base", "data_api_base"])
    return channel


def friend_chat(channel, *, user_id: str | None = None, name: str = "Mei Lin", reply_token: str = "") -> Conversation:
    """A following friend and their conversation; `reply_token` fresh if given."""
    user_id = user_id or f"U{next(_numbers):032x}"
    friend = Friend.objects.create(
        channel=channel, user_id=user_id, display_name=name, is_following=True, last_contact_at=timezone.now()
    )
    return Conversation.objects.create(
        channel=channel,
        source_type="user",
        source_id=user_id,
        friend=friend,
        reply_token=reply_token,
        reply_token_received_at=timezone.now() if reply_token else None,
    )


def logged_send(conversation, *texts: str, sender=Message.Sender.STAFF, staff=None, age=timedelta(0), **fields):
    """Rows of one send as sending.outbound_create writes them, `age` old, then changed by `fields`."""
    from messaging.sending import outbound_create

    rows = outbound_create(
        conversation=conversation,
        messages=[{"type": "text", "text": t} for t in texts],
        sender=sender,
        staff=staff,
    )
    Message.objects.filter(pk__in=[r.pk for r in rows]).update(created_at=timezone.now() - age, **fields)
    return list(Message.objects.filter(pk__in=[r.pk for r in rows]).order_by("part"))
