"""Integrators read friends, conversations and events over /api/v1/, tag friends, send, and re-run events."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.tests.factories import ChannelFactory, MembershipFactory
from messaging.models import Conversation, Friend, WebhookEvent
from tests.fixtures import webhooks as fx
from tests.integration.test_webhook_events import FakeLine

pytestmark = pytest.mark.django_db


@pytest.fixture
def line(monkeypatch):
    return FakeLine().install(monkeypatch)


@pytest.fixture
def channel():
    return ChannelFactory(channel_secret=fx.SECRET, bot_user_id=fx.DESTINATION)


@pytest.fixture
def arrive(client, channel, django_capture_on_commit_callbacks):
    def post(*names):
        for name in names:
            with django_capture_on_commit_callbacks(execute=True):
                assert fx.post(client, channel, fx.events(name)).status_code == 200

    return post


def api_as(channel, role):
    api = APIClient()
    api.force_authenticate(MembershipFactory(channel=channel, role=role).user)
    return api


def test_friends_are_listed_filtered_and_tagged(channel, line, arrive):
    arrive("follow", "message_group_text")
    api = api_as(channel, Role.SUPPORT)

    listed = api.get("/api/v1/friends/", {"channel": channel.pk, "following": "true"}).json()["results"]
    assert [f["user_id"] for f in listed] == [fx.USER_ID]
    friend_id = listed[0]["id"]

    tagged = api.post(f"/api/v1/friends/{friend_id}/tags/", {"add": ["vip", "tw"]}, format="json").json()
    assert sorted(tagged["tags"]) == ["tw", "vip"]
    assert [f["id"] for f in api.get("/api/v1/friends/", {"tag": "vip"}).json()["results"]] == [friend_id]
    assert api.get(f"/api/v1/friends/{friend_id}/").json()["display_name"] == "Mei Lin"


def test_a_viewer_may_read_but_not_tag_or_send(channel, line, arrive):
    arrive("message_text")
    api = api_as(channel, Role.VIEWER)
    friend = Friend.objects.get()
    conversation = Conversation.objects.get()

    assert api.post(f"/api/v1/friends/{friend.pk}/tags/", {"add": ["x"]}, format="json").status_code == 403
    assert (
        api.post(f"/api/v1/conversations/{conversation.pk}/messages/", {"text": "x"}, format="json").status_code == 403
    )
    assert api.get(f"/api/v1/conversations/{conversation.pk}/messages/").status_code == 200


def test_other_channels_are_invisible(channel, line, arrive):
    arrive("message_text")
    api = api_as(ChannelFactory(), Role.ADMIN)

    assert api.get("/api/v1/friends/").json()["results"] == []
    assert api.get(f"/api/v1/conversations/{Conversation.objects.get().pk}/").status_code == 404


def test_conversations_list_search_and_send(channel, line, arrive):
    arrive("message_text", "message_sticker")
    api = api_as(channel, Role.SUPPORT)

    [conversation] = api.get("/api/v1/conversations/", {"channel": channel.pk, "q": "boxes"}).json()["results"]
    assert api.get("/api/v1/conversations/", {"q": "pizza"}).json()["results"] == []
    log = api.get(f"/api/v1/conversations/{conversation['id']}/messages/").json()["results"]
    assert [m["type"] for m in log] == ["sticker", "text"]

    sent = api.post(f"/api/v1/conversations/{conversation['id']}/messages/", {"text": "Thanks!"}, format="json")
    assert sent.status_code == 201
    assert sent.json()["via"] == "reply" and sent.json()["messages"][0]["delivery"] == "sent"


def test_webhook_events_are_listed_and_an_admin_can_re_run_one(
    channel, line, arrive, django_capture_on_commit_callbacks
):
    arrive("message_text")
    event = WebhookEvent.objects.get()
    admin, agent = api_as(channel, Role.ADMIN), api_as(channel, Role.SUPPORT)

    listed = admin.get("/api/v1/webhook-events/", {"channel": channel.pk, "status": "done"}).json()["results"]
    assert [e["webhook_event_id"] for e in listed] == [event.webhook_event_id]
    assert admin.get(f"/api/v1/webhook-events/{event.pk}/").json()["payload"]["type"] == "message"

    assert agent.post(f"/api/v1/webhook-events/{event.pk}/rerun/").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        assert admin.post(f"/api/v1/webhook-events/{event.pk}/rerun/").status_code == 202
    event.refresh_from_db()
    assert event.status == "done" and event.attempts == 1
