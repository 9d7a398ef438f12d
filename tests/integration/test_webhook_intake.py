"""LINE's webhooks are verified over the raw bytes, stored once, and answered 200 at once."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from linebot.v3.webhook import WebhookParser

from accounts.tests.factories import ChannelFactory
from lineapi import LineClient
from messaging.models import WebhookEvent
from messaging.webhooks import intake
from tests.fixtures import webhooks as fx

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel():
    return ChannelFactory(channel_secret=fx.SECRET, bot_user_id=fx.DESTINATION)


@pytest.fixture(autouse=True)
def no_line_calls(monkeypatch):
    """The request must never talk to LINE: any call fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("the webhook request called LINE")

    monkeypatch.setattr(LineClient, "_call", refuse)


@pytest.mark.parametrize("name", fx.NAMES)
def test_every_fixture_carries_the_signature_line_would_send_and_parses_with_the_sdk(name):
    assert fx.sign(fx.SECRET, fx.raw(name)) == fx.SIGNATURES[name]
    parsed = WebhookParser(fx.SECRET).parse(fx.raw(name).decode(), fx.SIGNATURES[name])
    assert len(parsed) == len(fx.events(name))


@pytest.mark.parametrize("name", fx.NAMES)
def test_every_signed_fixture_is_stored_and_answered_200(client, channel, name):
    response = fx.post(client, channel, fx.raw(name), signature=fx.SIGNATURES[name])

    assert response.status_code == 200
    stored = WebhookEvent.objects.filter(channel=channel)
    assert sorted(stored.values_list("webhook_event_id", flat=True)) == sorted(
        e["webhookEventId"] for e in fx.events(name)
    )
    assert all(e.status == WebhookEvent.Status.PENDING for e in stored)


def test_a_stored_event_keeps_the_raw_payload_its_source_and_its_time(client, channel):
    fx.post(client, channel, fx.raw("message_group_text"))

    event = WebhookEvent.objects.get()
    assert event.payload == fx.events("message_group_text")[0]
    assert (event.type, event.source_type, event.source_id, event.user_id) == (
        "message",
        "group",
        fx.GROUP_ID,
        fx.USER_ID,
    )
    assert event.timestamp.timestamp() * 1000 == event.payload["timestamp"]
    assert event.timestamp.tzinfo is not None


def test_a_bad_signature_is_refused_counted_and_stores_nothing(client, channel, caplog):
    before = intake.bad_signature_count(channel.channel_id)

    response = fx.post(client, channel, fx.raw("message_text"), secret="not-the-channel-secret")

    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()
    assert intake.bad_signature_count(channel.channel_id) == before + 1
    assert "signature rejected" in caplog.text
    assert "ordered" not in caplog.text  # the body (a user's message) is never logged


def test_a_missing_signature_is_refused_and_stores_nothing(client, channel):
    response = fx.post(client, channel, fx.raw("follow"), signature="")

    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()


def test_a_body_changed_after_signing_is_refused(client, channel):
    signature = fx.sign(channel.channel_secret, fx.raw("message_text"))
    tampered = fx.raw("message_text").replace(b"2 boxes", b"9 boxes")

    response = fx.post(client, channel, tampered, signature=signature)

    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()


def test_invalid_json_gets_a_clear_400_and_stores_nothing(client, channel):
    response = fx.post(client, channel, b'{"destination": "U", "events": [')

    assert response.status_code == 400
    assert "JSON" in response.json()["message"]
    assert not WebhookEvent.objects.exists()


def test_an_event_without_its_id_gets_a_400_and_stores_nothing(client, channel):
    events = fx.events("message_text") + fx.events("follow")
    del events[1]["webhookEventId"]

    response = fx.post(client, channel, events)

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_an_oversized_body_gets_a_400_and_stores_nothing(client, channel):
    events = fx.events("message_text")
    events[0]["message"]["text"] = "x" * (intake.MAX_BODY_BYTES + 10)

    response = fx.post(client, channel, events)

    assert response.status_code == 400
    assert "larger" in response.json()["message"]
    assert not WebhookEvent.objects.exists()


def test_a_body_for_another_bot_gets_a_400_and_stores_nothing(client, channel):
    data = fx.encode(fx.events("message_text"), destination="U" + "0" * 32)

    response = fx.post(client, channel, data)

    assert response.status_code == 400
    assert "destination" in response.json()["message"]
    assert not WebhookEvent.objects.exists()


def test_lines_verify_button_with_no_events_gets_200(client, channel):
    response = fx.post(client, channel, [])

    assert response.status_code == 200
    assert not WebhookEvent.objects.exists()


def test_an_unknown_channel_gets_404(client, channel):
    response = client.post(
        "/webhooks/line/999999999/",
        data=fx.raw("follow"),
        content_type="application/json",
        HTTP_X_LINE_SIGNATURE=fx.SIGNATURES["follow"],
    )

    assert response.status_code == 404
    assert not WebhookEvent.objects.exists()


def test_a_get_is_not_allowed(client, channel):
    assert client.get(channel.webhook_path).status_code == 405


def test_the_same_event_posted_twice_and_redelivered_is_stored_once(client, channel):
    events = fx.events("message_text")
    redelivered = json.loads(json.dumps(events))
    redelivered[0]["deliveryContext"]["isRedelivery"] = True

    for body in (events, events, redelivered):
        assert fx.post(client, channel, body).status_code == 200

    assert WebhookEvent.objects.count() == 1
    assert WebhookEvent.objects.get().is_redelivery is False


def test_a_duplicate_inside_one_body_is_stored_once_with_the_rest(client, channel):
    events = fx.events("message_text") + fx.events("message_text") + fx.events("follow")

    assert fx.post(client, channel, events).status_code == 200

    assert WebhookEvent.objects.count() == 2


def test_the_same_event_id_on_two_channels_is_kept_for_each(client, channel):
    other = ChannelFactory(channel_secret="another-secret", bot_user_id="U" + "1" * 32)

    fx.post(client, channel, fx.events("follow"))
    fx.post(client, other, fx.events("follow"))

    assert WebhookEvent.objects.count() == 2


def test_one_post_of_a_hundred_events_is_one_insert(client, channel):
    base = fx.events("message_text")[0]
    events = [dict(base, webhookEventId=f"01JGKZ3QW8V4M1N2P3Q4R{i:05d}") for i in range(100)]
    with CaptureQueriesContext(connection) as queries:
        response = fx.post(client, channel, fx.encode(events))

    assert response.status_code == 200
    assert WebhookEvent.objects.count() == 100
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("INSERT")]
    # PostgreSQL takes all 100 rows in one statement; SQLite's bound-parameter limit splits it in two.
    assert len(inserts) == (1 if connection.vendor == "postgresql" else 2)
    assert len(queries.captured_queries) <= 2 + len(inserts) + 2  # channel, savepoint, inserts, release
