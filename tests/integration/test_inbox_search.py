"""Agents in Taiwan, Japan and Thailand find conversations by a word inside a sentence, or by a friend's name.

Chinese, Japanese and Thai put no spaces between words, so search matches substrings. These run on SQLite
and on PostgreSQL (where the pg_trgm index serves them).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.tests.factories import ChannelFactory, MembershipFactory, UserFactory
from messaging import selectors
from messaging.models import Conversation, Friend, Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel():
    return ChannelFactory()


@pytest.fixture
def agent_client(client, channel):
    client.force_login(MembershipFactory(channel=channel, role=Role.SUPPORT, user=UserFactory()).user)
    return client


_seq = iter(range(1, 10_000))


def chat(channel, name: str, *texts: str, days_ago: int = 0) -> Conversation:
    """A friend called `name` who wrote `texts`."""
    n = next(_seq)
    friend = Friend.objects.create(channel=channel, user_id=f"U{n:032x}", display_name=name, is_following=True)
    at = timezone.now() - timedelta(days=days_ago, minutes=len(texts))
    conversation = Conversation.objects.create(
        channel=channel, source_type="user", source_id=friend.user_id, friend=friend, last_message_at=at
    )
    for i, text in enumerate(texts):
        Message.objects.create(
            channel=channel,
            conversation=conversation,
            direction="in",
            type="text",
            sender="friend",
            text=text,
            sent_at=at + timedelta(minutes=i),
        )
    return conversation


def listed(client, channel, q: str) -> str:
    return client.get(reverse("inbox-list", args=[channel.pk]), {"q": q}).content.decode()


def names(page: str, *candidates: str) -> set[str]:
    return {name for name in candidates if name in page}


@pytest.fixture
def inbox(channel):
    chat(channel, "Mei Lin", "你好", "我想要退貨，可以嗎？")
    chat(channel, "Wang Xiaoming", "請問運費多少？", "我的訂單編號是 TW-20250117")
    chat(channel, "Sato Hanako", "注文した商品がまだ届きません。", "返品はできますか")
    chat(channel, "Somchai", "สวัสดีค่ะ", "ขอคืนสินค้าได้ไหมคะ")
    chat(channel, "Alice", "Hello, I would like a refund for my order please")
    chat(channel, "陳美玲", "謝謝")
    chat(channel, "สมศรี ใจดี", "ok")
    return channel


EVERYONE = ("Mei Lin", "Wang Xiaoming", "Sato Hanako", "Somchai", "Alice", "陳美玲", "สมศรี ใจดี")


@pytest.mark.parametrize(
    "query, found",
    [
        ("退貨", {"Mei Lin"}),  # two characters in the middle of a sentence
        ("要退貨", {"Mei Lin"}),  # three: the trigram index
        ("運費多少", {"Wang Xiaoming"}),
        ("届きません", {"Sato Hanako"}),
        ("返品", {"Sato Hanako"}),
        ("商品が", {"Sato Hanako"}),
        ("คืนสินค้า", {"Somchai"}),  # Thai, marks and all
        ("สินค้าได้ไหม", {"Somchai"}),
        ("refund", {"Alice"}),
        ("REFUND order", {"Alice"}),  # every word, any case
        ("TW-20250117", {"Wang Xiaoming"}),
        ("20250117", {"Wang Xiaoming"}),
    ],
)
def test_a_word_inside_a_sentence_finds_its_conversation_in_any_language(agent_client, inbox, query, found):
    assert names(listed(agent_client, inbox, query), *EVERYONE) == found


@pytest.mark.parametrize(
    "query, found",
    [
        ("美玲", {"陳美玲"}),
        ("陳美玲", {"陳美玲"}),
        ("ใจดี", {"สมศรี ใจดี"}),
        ("mei", {"Mei Lin"}),
        ("Hanako", {"Sato Hanako"}),
    ],
)
def test_a_friend_is_found_by_part_of_their_name(agent_client, inbox, query, found):
    assert names(listed(agent_client, inbox, query), *EVERYONE) == found


def test_the_list_shows_the_matching_message_with_the_word_marked(agent_client, inbox):
    page = listed(agent_client, inbox, "退貨")

    assert "我想要<mark>退貨</mark>，可以嗎？" in page
    assert "你好" not in page  # the newest message is not what the agent looked for


def test_nothing_found_says_so_and_wildcards_are_taken_literally(agent_client, inbox):
    assert "No conversation matches these filters." in listed(agent_client, inbox, "披薩")
    assert not names(listed(agent_client, inbox, "退%嗎"), *EVERYONE)
    assert not names(listed(agent_client, inbox, "a_c"), *EVERYONE)


def test_a_short_query_looks_through_the_newest_messages_and_says_so(agent_client, channel, monkeypatch):
    chat(channel, "Old customer", "我想要退貨", days_ago=90)
    for i in range(4):
        chat(channel, f"Recent {i}", "謝謝你們")
    monkeypatch.setattr(selectors, "RECENT_MESSAGES", 3)

    short = listed(agent_client, channel, "退貨")
    longer = listed(agent_client, channel, "要退貨")

    assert "Old customer" not in short and 'data-testid="search-limited"' in short
    assert "Old customer" in longer and 'data-testid="search-limited"' not in longer


def test_a_short_query_in_a_small_channel_searches_everything_without_a_warning(agent_client, inbox):
    page = listed(agent_client, inbox, "返品")

    assert "Sato Hanako" in page and 'data-testid="search-limited"' not in page


def test_unsent_messages_are_not_found(agent_client, channel):
    conversation = chat(channel, "Mei Lin", "我想要退貨")
    Message.objects.filter(conversation=conversation).update(is_unsent=True)

    assert "Mei Lin" not in listed(agent_client, channel, "退貨")


def test_other_channels_messages_are_not_found(agent_client, channel):
    chat(ChannelFactory(), "Elsewhere", "我想要退貨")

    assert "Elsewhere" not in listed(agent_client, channel, "退貨")


def test_the_api_finds_conversations_by_a_chinese_word(inbox):
    api = APIClient()
    api.force_authenticate(MembershipFactory(channel=inbox, role=Role.VIEWER).user)

    found = api.get("/api/v1/conversations/", {"channel": inbox.pk, "q": "退貨"}).json()["results"]

    assert [c["friend"]["display_name"] for c in found] == ["Mei Lin"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigram index exists on PostgreSQL only")
def test_postgresql_answers_a_three_character_search_from_the_trigram_index(inbox):
    matching = selectors.message_search(Message.objects.all(), "要退貨")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = matching.explain()

    assert "message_text_trgm_idx" in plan


def test_the_list_poll_reuses_an_open_search_briefly_and_a_new_search_runs_fresh(agent_client, channel):
    chat(channel, "Mei Lin", "我想要退貨")
    url = reverse("inbox-list", args=[channel.pk])
    agent_client.get(url, {"q": "退貨"})
    chat(channel, "Newcomer", "退貨要怎麼寄？")

    polled = agent_client.get(url, {"q": "退貨"}, HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER="conversation-list")
    submitted = agent_client.get(url, {"q": "退貨"})

    assert "Newcomer" not in polled.content.decode()  # within SEARCH_REUSE_SECONDS of the search
    assert "Newcomer" in submitted.content.decode()
