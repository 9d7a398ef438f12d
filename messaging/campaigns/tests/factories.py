"""Test helpers for campaigns: a channel wired to linesim, friends in bulk, campaigns in any state."""

from __future__ import annotations

import secrets

from accounts.models import Membership, Role
from accounts.tests.factories import ChannelFactory, UserFactory
from messaging.campaigns.models import AudienceKind, Campaign


def user_id(n: int | None = None) -> str:
    return "U" + (f"{n:032x}" if n is not None else secrets.token_hex(16))


def linesim_channel(linesim, **kwargs):
    """A Channel whose API base is the running simulator, registered there with the same token."""
    channel = ChannelFactory(**kwargs)
    linesim.register_channel(channel.channel_id, channel.channel_secret, channel.access_token)
    channel.api_base = channel.data_api_base = linesim.base_url
    channel.save(update_fields=["api_base", "data_api_base"])
    return channel


def friends(channel, count: int, *, start: int = 0, **fields):
    from messaging.models import Friend

    rows = [Friend(channel=channel, user_id=user_id(start + i), display_name=f"Friend {start + i}",
                   is_following=True, **fields) for i in range(count)]
    Friend.objects.bulk_create(rows, batch_size=5000)
    return Friend.objects.filter(channel=channel)


def staff(channel, role=Role.MARKETER, **kwargs):
    user = UserFactory(**kwargs)
    Membership.objects.create(user=user, channel=channel, role=role)
    return user


TEXT = [{"type": "text", "text": "Spring sale: 20% off everything this weekend!"}]


def campaign(channel, **fields) -> Campaign:
    values = {"name": "Spring sale", "messages": TEXT, "audience_kind": AudienceKind.SEGMENT, "audience": {}}
    values.update(fields)
    return Campaign.objects.create(channel=channel, **values)
