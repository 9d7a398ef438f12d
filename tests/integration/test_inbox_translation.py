"""Every sentence of the thread reaches the translator whole: no raw codes (open, enter, joined, SUCCESS,
a message type) are pasted into translated sentences, colons live inside the strings, and words that mean
different things in different places are told apart by context.

The thread is rendered in a pseudo-language that wraps every translated string in ⟦…⟧; what is left
outside the brackets is what a Japanese or Chinese agent would see untranslated.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import trans_real

from accounts.models import Role
from accounts.tests.factories import ChannelFactory, MembershipFactory, UserFactory
from messaging.models import Message
from messaging.tests.factories import friend_chat, logged_send

pytestmark = pytest.mark.django_db


class Pseudo:
    """A translation that marks every string it translates (pgettext's context is looked up, then dropped)."""

    def gettext(self, message):
        # Placeholders are left outside the brackets: what is pasted into a sentence must be data, not a code.
        return "⟦" + re.sub(r"(%\(\w+\)s)", r"⟧\1⟦", message.split(chr(4))[-1]) + "⟧"

    def ngettext(self, singular, plural, number):
        return self.gettext(singular if number == 1 else plural)

    def to_language(self):
        return "en"


@pytest.fixture
def pseudo(monkeypatch):
    """Every language is the pseudo-language; yields the (context, message) pairs pgettext was asked for."""
    monkeypatch.setattr(trans_real, "translation", lambda language: Pseudo())
    contexts = []

    def pgettext(context, message):
        contexts.append((context, message))
        return trans_real.pgettext(context, message)

    monkeypatch.setattr(translation._trans, "pgettext", pgettext, raising=False)
    translation.activate("en")
    yield contexts
    translation.deactivate()


def line(conversation, kind, direction="system", **fields):
    return Message.objects.create(
        channel_id=conversation.channel_id,
        conversation=conversation,
        direction=direction,
        type=kind,
        sender="staff" if direction == "note" else "friend" if direction == "in" else "system",
        sent_at=timezone.now() - timedelta(minutes=5),
        **fields,
    )


DATA = {"agent", "d41d8cd98f", "menu-b"}  # a staff name, a beacon, a rich menu alias: shown as they are


def untranslated(html: str) -> list[str]:
    """The visible words of each thread line left outside ⟦…⟧ (data in <code>, times and the staff name aside)."""
    out = []
    for item in re.findall(r'<li id="m-\d+"[^>]*>(.*?)</li>', html, flags=re.S):
        text = re.sub(r"<code>.*?</code>", " ", item, flags=re.S)
        text = re.sub(r"<[^>]+>", " ", text)
        while re.search(r"⟦[^⟦⟧]*⟧", text):  # innermost first: a translated label inside a sentence
            text = re.sub(r"⟦[^⟦⟧]*⟧", " ", text)
        out.append(" ".join(w for w in text.split() if w not in DATA and not re.fullmatch(r"·|\d[\d/:.,]*", w)))
    return out


def test_system_lines_notes_and_delivery_states_are_whole_translated_sentences(client, pseudo):
    channel = ChannelFactory()
    agent = MembershipFactory(channel=channel, role=Role.SUPPORT, user=UserFactory(username="agent")).user
    client.force_login(agent)
    conversation = friend_chat(channel)
    for status in ("open", "pending", "resolved"):
        line(conversation, "status", "note", payload={"status": status}, staff=agent)
    line(conversation, "assigned", "note", payload={"assignee": ""}, staff=agent)
    line(conversation, "note", "note", text="VIP", staff=agent)
    for kind in ("enter", "stay", "banner"):
        line(conversation, "beacon", payload={"hwid": "d41d8cd98f", "type": kind})
    for kind in ("joined", "left", "renewed"):
        line(conversation, "membership", payload={"type": kind, "membershipId": 1})
    for status in ("SUCCESS", "RICHMENU_ALIAS_ID_NOTFOUND", "RICHMENU_NOTFOUND", "FAILED"):
        params = {"newRichMenuAliasId": "menu-b", "status": status}
        line(conversation, "postback", payload={"data": "switch", "params": params})
    line(conversation, "somethingNew", payload={})
    line(conversation, "image", "in", content_status="pending")
    line(conversation, "shoppingCard", "in")
    line(conversation, "sticker", "in", payload={"stickerId": "1", "keywords": ["OK"]})
    logged_send(conversation, "Thanks!", sender="greeting", delivery="failed", error="No fresh reply token.")

    html = client.get(reverse("inbox-conversation", args=[channel.pk, conversation.pk])).content.decode()

    leftovers = [text for text in untranslated(html) if text]
    assert leftovers == ["VIP", "Thanks!"], leftovers  # only what people wrote
    alt = re.search(r'alt="([^"]*)"', html[html.index('data-type="sticker"') :]).group(1)
    assert alt == "⟦Sticker: ⟧OK⟦⟧"  # the colon belongs to the sentence


def test_words_with_several_meanings_carry_a_context(client, pseudo):
    channel = ChannelFactory()
    agent = MembershipFactory(channel=channel, role=Role.ADMIN).user
    client.force_login(agent)
    conversation = friend_chat(channel)
    line(conversation, "assigned", "note", payload={"assignee": ""}, staff=agent)
    logged_send(conversation, "Welcome!", sender="greeting", delivery="sent", via="reply")
    from messaging.models import Tag

    Tag.objects.create(channel=channel, name="vip")

    client.get(reverse("inbox-conversation", args=[channel.pk, conversation.pk]))

    meanings = {}
    for context, message in pseudo:
        meanings.setdefault(message, set()).add(context)
    assert len(meanings["Unassigned"]) == 3  # filter option, assignee choice, thread event
    assert len(meanings["Tag"]) == 2  # filter label, button
    assert len(meanings["Pending"]) == 1 and "conversation status" in meanings["Pending"]
    assert {"message sender: the greeting message", "button: open the greeting message settings"} <= meanings[
        "Greeting"
    ]


def test_an_event_whose_worker_died_is_explained_in_the_readers_language(pseudo):
    from rest_framework.test import APIClient

    from messaging.models import WebhookEvent
    from messaging.webhooks import processing

    channel = ChannelFactory()
    event = WebhookEvent.objects.create(
        channel=channel,
        webhook_event_id="01JGKZ3QW8V4M1N2P3Q4R5S6ZZ",
        type="message",
        timestamp=timezone.now(),
        payload={},
        status="processing",
        locked_until=timezone.now() - timedelta(seconds=1),
    )
    processing.sweep()
    api = APIClient()
    api.force_authenticate(MembershipFactory(channel=channel, role=Role.ADMIN).user)

    shown = api.get(f"/api/v1/webhook-events/{event.pk}/").json()["last_error"]

    assert shown == "⟦The worker processing this event stopped before finishing.⟧"
    event.refresh_from_db()
    assert event.last_error == "The worker processing this event stopped before finishing."  # stored in English
