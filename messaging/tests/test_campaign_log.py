"""A campaign's messages show in each recipient's thread, once, without stirring the inbox list."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import ChannelFactory
from messaging.campaign_log import campaign_sends_log
from messaging.models import Conversation, Friend, Message

from .factories import friend_chat

pytestmark = pytest.mark.django_db

SALE = [
    {"type": "text", "text": "{name}, the autumn sale starts today"},
    {"type": "sticker", "packageId": "446", "stickerId": "1988"},
]


def log(channel, user_ids, **kw):
    defaults = dict(
        channel_id=channel.pk,
        campaign_id=41,
        user_ids=user_ids,
        messages=SALE,
        via="multicast",
        sent_at=timezone.now(),
        request_id="req-1",
    )
    return campaign_sends_log(**{**defaults, **kw})


def test_each_recipient_thread_shows_the_campaign_once_even_when_logged_twice():
    channel = ChannelFactory()
    chat = friend_chat(channel, name="Mei Lin")
    before = chat.last_message_at

    log(channel, [chat.source_id])
    log(channel, [chat.source_id])  # a re-run of the task

    lines = list(Message.objects.filter(conversation=chat).order_by("part"))
    assert [(m.sender, m.via, m.delivery, m.type) for m in lines] == [
        ("campaign", "multicast", "sent", "text"),
        ("campaign", "multicast", "sent", "sticker"),
    ]
    assert lines[0].text == "{name}, the autumn sale starts today" and lines[0].line_request_id == "req-1"
    chat.refresh_from_db()
    assert chat.unread_count == 0 and chat.last_message_at == before


def test_personalised_lines_carry_the_friends_own_name():
    channel = ChannelFactory()
    chat = friend_chat(channel, name="佐藤 花子")
    log(channel, [chat.source_id], via="push", personalize=True)
    assert Message.objects.get(conversation=chat, part=0).text == "佐藤 花子, the autumn sale starts today"


def test_friends_without_a_thread_get_one_and_strangers_are_ignored():
    channel = ChannelFactory()
    friend = Friend.objects.create(
        channel=channel,
        user_id="U" + "a" * 32,
        display_name="Somchai",
        is_following=True,
        last_contact_at=timezone.now() - timedelta(days=3),
    )
    log(channel, [friend.user_id, "U" + "b" * 32])

    chat = Conversation.objects.get(channel=channel, source_id=friend.user_id)
    assert chat.friend == friend
    assert Message.objects.filter(conversation=chat).count() == 2
    assert not Conversation.objects.filter(source_id="U" + "b" * 32).exists()
