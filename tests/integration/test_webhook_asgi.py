"""The ASGI entry (config.asgi, the deployed web process): LINE's webhook POSTs answered on the event loop.

Each test drives config.asgi.application as uvicorn does, on a loop of its own, against the test database
(committed: the writers hold connections of their own). On PostgreSQL the POSTs go through the loop's
group commit; elsewhere the store runs in a thread, with the same answers.
"""

from __future__ import annotations

import asyncio
import gc
import json
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from django.db import connection, connections

import config.asgi
from accounts.tests.factories import ChannelFactory
from messaging.models import WebhookEvent
from messaging.webhooks import asgi as webhook_asgi
from messaging.webhooks import intake
from tests.fixtures import webhooks as fx
from tests.support import http_scope

# No LINE call in any request; committed sources go to the publisher, whose sends are recorded (conftest).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_line_calls", "published")]

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the loop's group commit writes to PostgreSQL only"
)


async def call(path: str, body: bytes = b"", signature: str | None = None, *, method="POST", headers=()):
    """One request through config.asgi.application; returns (status, headers, body)."""
    sent, request = [], [{"type": "http.request", "body": body, "more_body": False}]
    fields = {"content-type": "application/json", "content-length": str(len(body))}
    if signature is not None:
        fields["x-line-signature"] = signature
    fields.update(headers)  # a header given here replaces the default one
    raw_headers = [(name.encode(), value.encode()) for name, value in fields.items()]
    scope = http_scope(method, path, raw_headers)

    async def receive():
        if request:
            return request.pop(0)
        await asyncio.Event().wait()  # the client stays until answered (Django listens for a disconnect)

    async def send(message):
        sent.append(message)

    await config.asgi.application(scope, receive, send)
    start = sent[0]
    content = b"".join(message.get("body", b"") for message in sent[1:])
    return start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]}, content


def run(coroutine):
    """Run on a new event loop, as a server process would, and close the loop's writers after. The loop
    runs in a thread of its own: the session's browser tests leave Playwright's loop set on this one."""

    async def main():
        try:
            return await coroutine
        finally:
            await webhook_asgi.group_commit().close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result()


def in_thread(function):
    """``function`` with the ORM, in a thread whose connection is closed after (the test database is
    dropped at the end, which PostgreSQL refuses while a session is open on it)."""
    try:
        return function()
    finally:
        connections.close_all()


@pytest.fixture(autouse=True)
def _sessions_of_ended_threads_closed():
    """The site's requests run in threads that end with them; their connections close once collected."""
    yield
    gc.collect()


def _bodies(count: int) -> list[bytes]:
    base = fx.events("message_text")[0]
    return [
        fx.encode([dict(base, webhookEventId=f"01JGASGI{i:018d}", source={"type": "user", "userId": f"U{i:032x}"})])
        for i in range(count)
    ]


def test_a_signed_webhook_is_stored_and_answered_200_with_its_processing_queued(channel, published):
    status, headers, body = run(call(channel.webhook_path, fx.raw("message_text"), fx.SIGNATURES["message_text"]))

    assert (status, json.loads(body)) == (200, {})
    assert headers["content-type"] == "application/json" and headers["x-content-type-options"] == "nosniff"
    stored = WebhookEvent.objects.get(channel=channel)
    assert stored.webhook_event_id == fx.events("message_text")[0]["webhookEventId"]
    assert stored.status == WebhookEvent.Status.PENDING and stored.payload == fx.events("message_text")[0]
    intake.publisher.flush()
    assert published == [(channel.pk, [stored.source_id])]


@pytest.mark.parametrize("name", fx.NAMES)
def test_every_signed_fixture_is_stored(channel, name):
    status, _, _ = run(call(channel.webhook_path, fx.raw(name), fx.SIGNATURES[name]))

    assert status == 200
    assert sorted(WebhookEvent.objects.values_list("webhook_event_id", flat=True)) == sorted(
        e["webhookEventId"] for e in fx.events(name)
    )


def test_what_the_threaded_intake_refuses_is_refused_with_its_reason_and_nothing_stored(channel, caplog):
    oversized = [("content-length", str(intake.MAX_BODY_BYTES + 1))]

    async def refusals():
        path, raw = channel.webhook_path, fx.raw("follow")
        return [
            await call(path, raw, "bad"),
            await call(path, raw),
            await call(path, b"{not json", fx.sign(fx.SECRET, b"{not json")),
            await call("/webhooks/line/999999999/", raw, fx.SIGNATURES["follow"]),
            await call(path, raw, fx.SIGNATURES["follow"], headers=oversized),
        ]

    answers = run(refusals())

    assert [status for status, _, _ in answers] == [401, 401, 400, 404, 400]
    assert [json.loads(body)["message"] for _, _, body in answers] == [
        "The x-line-signature header is missing or does not match the body.",
        "The x-line-signature header is missing or does not match the body.",
        "The body is not valid JSON.",
        "This channel does not exist.",
        "The body is larger than LINE ever sends.",
    ]
    assert not WebhookEvent.objects.exists()
    assert intake.bad_signature_count(channel.channel_id) >= 2
    assert fx.raw("follow").decode() not in caplog.text  # the body is never logged


def test_lines_verify_button_gets_200(channel):
    body = fx.encode([])
    assert run(call(channel.webhook_path, body, fx.sign(fx.SECRET, body)))[0] == 200


def test_the_same_event_posted_twice_and_redelivered_is_stored_once(channel):
    body = fx.raw("message_text")
    redelivered = fx.encode([dict(fx.events("message_text")[0], deliveryContext={"isRedelivery": True})])

    async def three():
        return [
            (await call(channel.webhook_path, body, fx.SIGNATURES["message_text"]))[0],
            (await call(channel.webhook_path, body, fx.SIGNATURES["message_text"]))[0],
            (await call(channel.webhook_path, redelivered, fx.sign(fx.SECRET, redelivered)))[0],
        ]

    assert run(three()) == [200, 200, 200]
    assert WebhookEvent.objects.count() == 1


def test_other_paths_and_methods_are_the_sites(channel):
    async def site():
        return [
            await call(channel.webhook_path, method="GET"),
            await call("/accounts/login/", method="GET"),
            await call(channel.webhook_path + "extra/", fx.raw("follow"), fx.SIGNATURES["follow"]),
        ]

    (get, login, extra) = run(site())

    assert get[0] == 405
    assert login[0] == 200 and "csrftoken" in login[1].get("set-cookie", "")
    assert extra[0] == 404
    assert not WebhookEvent.objects.exists()


def test_a_plain_http_webhook_is_left_to_the_site_when_https_is_required(settings):
    # The site's SecurityMiddleware then redirects it, as it redirects every plain-HTTP request.
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    scope = {"type": "http", "method": "POST", "path": "/webhooks/line/2000100000/", "scheme": "http", "headers": []}

    assert webhook_asgi.channel_id_of(scope) is None
    assert webhook_asgi.channel_id_of(dict(scope, headers=[(b"x-forwarded-proto", b"http")])) is None
    assert webhook_asgi.channel_id_of(dict(scope, headers=[(b"x-forwarded-proto", b"https")])) == "2000100000"
    assert webhook_asgi.channel_id_of(dict(scope, scheme="https")) == "2000100000"


def test_an_https_webhook_behind_the_proxy_is_stored_and_carries_hsts(channel, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 3600

    status, headers, _ = run(
        call(
            channel.webhook_path,
            fx.raw("follow"),
            fx.SIGNATURES["follow"],
            headers=[("x-forwarded-proto", "https")],
        )
    )

    assert status == 200 and headers["strict-transport-security"] == "max-age=3600"
    assert WebhookEvent.objects.count() == 1


@on_postgresql
def test_posts_arriving_together_share_statements_and_each_is_stored_once_before_its_200(channel, monkeypatch):
    statements: list[int] = []
    real_insert = webhook_asgi.AsyncGroupCommit._insert

    async def insert(self, slot, posts):
        statements.append(len(posts))
        await real_insert(self, slot, posts)

    monkeypatch.setattr(webhook_asgi.AsyncGroupCommit, "_insert", insert)
    bodies = _bodies(40)

    async def burst():
        answers = await asyncio.gather(
            *(call(channel.webhook_path, body, fx.sign(fx.SECRET, body)) for body in bodies + bodies[:10])
        )
        return [status for status, _, _ in answers]

    assert run(burst()) == [200] * 50
    assert WebhookEvent.objects.count() == 40
    assert sum(statements) == 50 and max(statements) > 1  # fewer statements than POSTs


@on_postgresql
def test_a_post_whose_channel_is_gone_fails_alone_in_its_statement(channel):
    other = ChannelFactory(channel_secret=fx.SECRET, bot_user_id=fx.DESTINATION)
    bodies = _bodies(6)

    async def mixed():
        for c in (channel, other):  # both cached, as a busy process has them
            await call(c.webhook_path, fx.encode([]), fx.sign(fx.SECRET, fx.encode([])))
        await asyncio.to_thread(in_thread, lambda: type(other).objects.filter(pk=other.pk).delete())
        answers = await asyncio.gather(
            *(call(channel.webhook_path, body, fx.sign(fx.SECRET, body)) for body in bodies[:5]),
            call(other.webhook_path, bodies[5], fx.sign(fx.SECRET, bodies[5])),
        )
        return [status for status, _, _ in answers]

    assert run(mixed()) == [200] * 5 + [404]
    assert WebhookEvent.objects.count() == 5
    assert intake.cached_channel(other.channel_id) is None


@on_postgresql
def test_a_writer_connection_that_broke_is_replaced_and_the_post_stored(channel):
    first, second = _bodies(2)

    async def broken_between():
        await call(channel.webhook_path, first, fx.sign(fx.SECRET, first))
        [writer] = webhook_asgi.group_commit()._idle
        other = await webhook_asgi._connect()
        await other.execute("SELECT pg_terminate_backend(%s)", [writer.info.backend_pid])  # the server ends it
        await other.close()
        return await call(channel.webhook_path, second, fx.sign(fx.SECRET, second))

    assert run(broken_between())[0] == 200
    assert WebhookEvent.objects.count() == 2


@on_postgresql
def test_the_writers_plan_their_insert_once(channel):
    async def three():
        for body in _bodies(3):  # one after another: three statements on one connection
            await call(channel.webhook_path, body, fx.sign(fx.SECRET, body))
        [writer] = webhook_asgi.group_commit()._idle
        cursor = await writer.execute(
            "SELECT sum(generic_plans), sum(custom_plans), current_setting('plan_cache_mode')"
            " FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%INSERT INTO messaging_webhookevent%"],
        )
        return await cursor.fetchone()

    assert run(three()) == (3, 0, "force_generic_plan")
    assert WebhookEvent.objects.count() == 3


@on_postgresql
def test_a_post_the_database_keeps_waiting_gets_503_and_its_redelivery_collapses(channel, monkeypatch):
    monkeypatch.setattr(webhook_asgi, "GROUP_WAIT_SECONDS", 0.3)
    release = None
    real_insert = webhook_asgi.AsyncGroupCommit._insert

    async def held(self, slot, posts):
        await release.wait()
        await real_insert(self, slot, posts)

    monkeypatch.setattr(webhook_asgi.AsyncGroupCommit, "_insert", held)
    body = _bodies(1)[0]

    async def stalled_then_redelivered():
        nonlocal release
        release = asyncio.Event()
        stalled = await call(channel.webhook_path, body, fx.sign(fx.SECRET, body))
        release.set()  # the database answers at last: the row is written after the 503
        await asyncio.sleep(0.2)
        again = await call(channel.webhook_path, body, fx.sign(fx.SECRET, body))
        return stalled, again

    stalled, again = run(stalled_then_redelivered())

    assert stalled[0] == 503
    assert json.loads(stalled[2])["message"] == (
        "The database did not answer in time; LINE will send the events again."
    )
    assert again[0] == 200
    assert WebhookEvent.objects.count() == 1


@on_postgresql
def test_a_waiting_post_keeps_only_its_text_not_its_parsed_events(channel, monkeypatch):
    # Parsed events kept alive while their POSTs wait reach the collector's oldest generation, and at 100
    # events a POST the full collections they set off cost a quarter of the server's CPU (bench/README.md).
    writing, release, alive = None, None, []
    real_insert = webhook_asgi.AsyncGroupCommit._insert

    async def held(self, slot, posts):
        gc.collect()
        ours = (o for o in gc.get_objects() if type(o) is dict and "webhookEventId" in o)
        alive.extend(o for o in ours if str(o["webhookEventId"]).startswith("01JGASGI"))
        writing.set()
        await release.wait()
        await real_insert(self, slot, posts)

    monkeypatch.setattr(webhook_asgi.AsyncGroupCommit, "_insert", held)
    body = fx.encode([json.loads(b)["events"][0] for b in _bodies(100)])

    async def post():
        nonlocal writing, release
        writing, release = asyncio.Event(), asyncio.Event()
        task = asyncio.ensure_future(call(channel.webhook_path, body, fx.sign(fx.SECRET, body)))
        await writing.wait()  # the POST is waiting for its commit
        release.set()
        return await task

    status, _, _ = run(post())

    assert status == 200 and WebhookEvent.objects.count() == 100
    assert alive == []


@on_postgresql
def test_an_unreachable_database_gets_503_and_stores_nothing(channel, monkeypatch):
    async def unreachable():
        raise psycopg.OperationalError("connection refused")

    monkeypatch.setattr(webhook_asgi, "_connect", unreachable)
    body = _bodies(1)[0]

    async def post():
        await call(channel.webhook_path, fx.encode([]), fx.sign(fx.SECRET, fx.encode([])))  # the channel, cached
        return await call(channel.webhook_path, body, fx.sign(fx.SECRET, body))

    status, _, content = run(post())

    assert status == 503 and "LINE will send the events again" in json.loads(content)["message"]
    assert not WebhookEvent.objects.exists()


@on_postgresql
def test_shutting_down_writes_what_is_waiting_first(channel):
    body = _bodies(1)[0]

    async def lifespan_with_a_post_in_flight():
        messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
        sent, shutdown = [], asyncio.Event()

        async def receive():
            if len(messages) == 1:
                await shutdown.wait()
            return messages.pop(0)

        async def send(message):
            sent.append(message["type"])

        commit = webhook_asgi.group_commit()
        server = asyncio.ensure_future(config.asgi.application({"type": "lifespan"}, receive, send))
        await call(channel.webhook_path, fx.encode([]), fx.sign(fx.SECRET, fx.encode([])))  # the channel, cached
        post = asyncio.ensure_future(call(channel.webhook_path, body, fx.sign(fx.SECRET, body)))
        while not (commit._waiting or commit._writing):  # the POST waits for its commit
            await asyncio.sleep(0)
        shutdown.set()
        await server
        # Committed by the time shutdown completed (the POST itself may need a loop pass more to answer).
        stored_at_shutdown = await asyncio.to_thread(in_thread, WebhookEvent.objects.count)
        return sent, stored_at_shutdown, (await post)[0], list(commit._idle)

    sent, stored_at_shutdown, status, idle = run(lifespan_with_a_post_in_flight())

    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert stored_at_shutdown == 1 and status == 200
    assert WebhookEvent.objects.count() == 1
    assert idle == []  # the writers' connections are closed
