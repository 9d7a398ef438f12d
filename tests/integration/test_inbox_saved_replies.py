"""Support agents and admins keep the channel's saved replies; the reply box offers them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Role
from accounts.tests.factories import ChannelFactory, MembershipFactory
from messaging.models import SavedReply
from messaging.tests.factories import friend_chat

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel():
    return ChannelFactory()


def signed_in(client, channel, role):
    client.force_login(MembershipFactory(channel=channel, role=role).user)
    return client


def url(name, channel, *args):
    return reverse(name, args=[channel.pk, *args])


def test_an_agent_adds_a_saved_reply_and_the_reply_box_offers_it(client, channel):
    agent = signed_in(client, channel, Role.SUPPORT)

    response = agent.post(
        url("inbox-saved-reply-new", channel),
        {"title": "退貨流程", "text": "您好 {name}，退貨請在七天內寄回，運費由我們負擔。"},
        follow=True,
    )

    listing = response.content.decode()
    assert "Saved reply saved." in listing and "退貨流程" in listing
    conversation = friend_chat(channel)
    thread = agent.get(url("inbox-conversation", channel, conversation.pk)).content.decode()
    assert '<option value="您好 {name}，退貨請在七天內寄回，運費由我們負擔。">退貨流程</option>' in thread


def test_an_agent_edits_and_deletes_a_saved_reply(client, channel):
    agent = signed_in(client, channel, Role.SUPPORT)
    saved = SavedReply.objects.create(channel=channel, title="Shipping", text="We ship in 2 days.")

    agent.post(url("inbox-saved-reply", channel, saved.pk), {"title": "Shipping time", "text": "We ship in 1 day."})
    saved.refresh_from_db()
    assert (saved.title, saved.text) == ("Shipping time", "We ship in 1 day.")

    response = agent.post(url("inbox-saved-reply-delete", channel, saved.pk), follow=True)
    assert "Saved reply deleted." in response.content.decode()
    assert not SavedReply.objects.exists()


def test_two_saved_replies_cannot_share_a_title(client, channel):
    agent = signed_in(client, channel, Role.SUPPORT)
    SavedReply.objects.create(channel=channel, title="Refunds", text="…")

    response = agent.post(url("inbox-saved-reply-new", channel), {"title": "refunds", "text": "Another"})

    assert "A saved reply with this title already exists." in response.content.decode()
    assert SavedReply.objects.count() == 1


def test_an_admin_may_manage_saved_replies_but_marketers_and_viewers_may_not(client, channel):
    saved = SavedReply.objects.create(channel=channel, title="Hours", text="10:00–19:00")
    assert signed_in(client, channel, Role.ADMIN).get(url("inbox-saved-replies", channel)).status_code == 200

    for role in (Role.MARKETER, Role.VIEWER):
        someone = signed_in(client, channel, role)
        assert someone.get(url("inbox-saved-replies", channel)).status_code == 403
        assert someone.post(url("inbox-saved-reply-delete", channel, saved.pk)).status_code == 403
    assert SavedReply.objects.filter(pk=saved.pk).exists()


def test_another_channels_saved_replies_are_out_of_reach(client, channel):
    agent = signed_in(client, channel, Role.SUPPORT)
    elsewhere = SavedReply.objects.create(channel=ChannelFactory(), title="Secret", text="…")

    assert "Secret" not in agent.get(url("inbox-saved-replies", channel)).content.decode()
    assert agent.get(url("inbox-saved-reply", channel, elsewhere.pk)).status_code == 404
    assert agent.post(url("inbox-saved-reply-delete", channel, elsewhere.pk)).status_code == 404
