"""LINE's webhooks are verified over the raw bytes, stored once, and answered 200 at once."""

from __future__ import annotations

import io
import json
import threading
import time

import pytest
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from linebot.v3.webhook import WebhookParser

from accounts.models import Channel
from accounts.tests.factories import ChannelFactory
from messaging.models import WebhookEvent
from messaging.webhooks import intake
from messaging.webhooks import wsgi as webhook_wsgi
from tests.fixtures import webhooks as fx
from tests.support import wait_until

# No LINE call in any request; committed sources go to the publisher, whose sends are recorded (conftest).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_line_calls", "published")]

REAL_PUBLISH = intake._publish


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


# --- the channel cache -------------------------------------------------------------------------------------


def test_a_changed_secret_is_accepted_and_the_old_one_refused_at_once(client, channel):
    old_secret = channel.channel_secret
    assert fx.post(client, channel, fx.events("follow")).status_code == 200  # the channel is now cached

    channel.channel_secret = "a-brand-new-channel-secret"
    channel.save()

    assert fx.post(client, channel, fx.events("message_text")).status_code == 200
    assert fx.post(client, channel, fx.events("unfollow"), secret=old_secret).status_code == 401
    assert WebhookEvent.objects.count() == 2


def test_a_secret_changed_by_another_process_is_accepted_at_once_and_then_the_old_one_is_refused(client, channel):
    old_secret = channel.channel_secret
    assert fx.post(client, channel, fx.events("follow")).status_code == 200
    # Another process saved the new secret: no signal reached this one, its cached copy is stale.
    Channel.objects.filter(pk=channel.pk).update(channel_secret="rotated-in-the-admin-elsewhere")

    assert (
        fx.post(client, channel, fx.events("message_text"), secret="rotated-in-the-admin-elsewhere").status_code == 200
    )
    assert fx.post(client, channel, fx.events("unfollow"), secret=old_secret).status_code == 401


def test_a_deactivated_channel_gets_404_at_once(client, channel):
    assert fx.post(client, channel, fx.events("follow")).status_code == 200

    channel.is_active = False
    channel.save()

    assert fx.post(client, channel, fx.events("message_text")).status_code == 404
    assert WebhookEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_channel_deleted_while_cached_elsewhere_gets_404_and_stores_nothing(client, channel):
    # This process still holds a channel another process has deleted.
    intake._channels[channel.channel_id] = (
        time.monotonic() + 60,
        intake.ChannelKeys(channel.pk + 1000, channel.channel_id, channel.channel_secret, channel.bot_user_id),
    )

    response = fx.post(client, channel, fx.events("follow"))

    assert response.status_code == 404
    assert not WebhookEvent.objects.exists()
    assert channel.channel_id not in intake._channels


# --- the production path: autocommitted, one statement, committed before the 200 ----------------------------


@pytest.mark.django_db(transaction=True)
def test_a_post_is_one_statement_once_the_channel_is_cached(client, channel):
    fx.post(client, channel, fx.events("follow"))
    base = fx.events("message_text")[0]
    events = [dict(base, webhookEventId=f"01JGKZ3QW8V4M1N2P3Q4R{i:05d}") for i in range(100)]

    with CaptureQueriesContext(connection) as queries:
        response = fx.post(client, channel, fx.encode(events))

    assert response.status_code == 200
    assert WebhookEvent.objects.count() == 101
    if connection.vendor == "postgresql":  # no channel SELECT, no health-check SELECT 1, no BEGIN/COMMIT
        assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT"]


@pytest.mark.django_db(transaction=True)
def test_the_rows_are_committed_before_the_200(client, channel):
    response = fx.post(client, channel, fx.events("message_text"))

    assert response.status_code == 200
    other = connections.create_connection("default")  # another session sees only committed rows
    try:
        with other.cursor() as cursor:
            cursor.execute(
                f"SELECT count(*) FROM {WebhookEvent._meta.db_table} WHERE webhook_event_id = %s",  # noqa: S608
                [fx.events("message_text")[0]["webhookEventId"]],
            )
            assert cursor.fetchone()[0] == 1
    finally:
        other.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", fx.NAMES)
def test_every_column_the_database_fills_is_what_the_model_path_writes(client, channel, name):
    assert fx.post(client, channel, fx.raw(name), signature=fx.SIGNATURES[name]).status_code == 200

    columns = ["webhook_event_id", "type", "mode", "source_type", "source_id", "user_id", "timestamp"]
    columns += ["payload", "is_redelivery", "status", "attempts", "last_error"]
    stored = list(WebhookEvent.objects.order_by("webhook_event_id").values_list(*columns))
    now = timezone.now()
    expected = sorted(
        (tuple(getattr(intake._model(channel.pk, event, now), c) for c in columns) for event in fx.events(name)),
        key=lambda row: row[0],
    )
    assert stored == expected


def test_odd_source_fields_count_as_empty_on_both_paths(client, channel):
    event = dict(fx.events("message_text")[0], source={"type": 7, "userId": None, "groupId": ["x"]})
    assert intake.source_of(event) == ("", "", "")
    assert intake.source_of(dict(event, source="user")) == ("", "", "")

    assert fx.post(client, channel, [event]).status_code == 200
    stored = WebhookEvent.objects.get()
    assert (stored.source_type, stored.source_id, stored.user_id) == ("", "", "")


def test_a_timestamp_out_of_any_calendar_gets_a_400_and_stores_nothing(client, channel):
    events = fx.events("message_text")
    events[0]["timestamp"] = 10**20

    response = fx.post(client, channel, events)

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_database_connection_that_broke_while_idle_is_replaced_and_the_post_stored(client, channel):
    if connection.vendor != "postgresql":
        pytest.skip("a server connection to break")
    fx.post(client, channel, fx.events("follow"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()

    response = fx.post(client, channel, fx.events("message_text"))

    assert response.status_code == 200
    assert WebhookEvent.objects.count() == 2


# --- enqueueing --------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_sources_of_every_post_reach_the_publisher_after_the_commit(client, channel, published):
    users = [f"U{i:032x}" for i in range(3)]
    base = fx.events("message_text")[0]
    for n, user in enumerate(users * 2):
        event = dict(base, webhookEventId=f"01JGKZ3QW8V4M1N2P3Q4S{n:05d}", source={"type": "user", "userId": user})
        assert fx.post(client, channel, [event]).status_code == 200

    wait_until(lambda: {s for _, sources in published for s in sources} == set(users), timeout=10)
    assert {pk for pk, _ in published} == {channel.pk}


def test_a_publisher_sends_one_task_per_channel_and_at_most_so_many_sources(published):
    publisher = intake.Publisher(linger=3600)  # its thread waits; the test flushes
    per_task = intake.SOURCES_PER_TASK
    publisher.add(1, [f"U{i}" for i in range(2 * per_task + 50)])
    publisher.add(2, ["Ua", "Ub"])
    publisher.add(1, ["U0", "U1"])  # already waiting

    assert publisher.flush() == 4
    assert [(pk, len(sources)) for pk, sources in published] == [(1, per_task), (1, per_task), (1, 50), (2, 2)]
    assert publisher.flush() == 0


@pytest.mark.django_db(transaction=True)
def test_a_broker_that_is_down_leaves_the_events_pending_for_the_sweeper(client, channel, monkeypatch, caplog):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(intake, "_publish", REAL_PUBLISH)
    monkeypatch.setattr(intake._task(), "delay", broker_down)

    response = fx.post(client, channel, fx.events("message_text"))

    assert response.status_code == 200
    wait_until(lambda: "sweeper will pick the events up" in caplog.text, timeout=10)
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PENDING


# --- the lean WSGI path ------------------------------------------------------------------------------------


def wsgi_post(path: str, body: bytes, signature: str | None = None, method: str = "POST", multithread=False, **extra):
    """Call config.wsgi.application as gunicorn would; returns (status code, headers, body)."""
    from config.wsgi import application

    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": multithread,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
        **extra,
    }
    if signature:
        environ["HTTP_X_LINE_SIGNATURE"] = signature
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"], answer["headers"] = int(status.split()[0]), dict(headers)

    response = application(environ, start_response)
    try:
        content = b"".join(response)
    finally:
        getattr(response, "close", lambda: None)()
    return answer["status"], answer["headers"], content


@pytest.mark.django_db(transaction=True)
def test_the_wsgi_entry_takes_signed_webhooks_without_the_browser_middleware(channel):
    status, headers, _ = wsgi_post(channel.webhook_path, fx.raw("follow"), fx.SIGNATURES["follow"])

    assert status == 200
    assert WebhookEvent.objects.count() == 1
    assert "Set-Cookie" not in headers and "Cookie" not in headers.get("Vary", "")  # no session, no CSRF cookie
    assert "X-Frame-Options" not in headers  # the clickjacking middleware did not run either
    assert headers.get("X-Content-Type-Options") == "nosniff"  # SecurityMiddleware did


@pytest.mark.django_db(transaction=True)
def test_the_wsgi_entry_refuses_what_the_view_refuses(channel):
    assert wsgi_post(channel.webhook_path, fx.raw("follow"), "bad")[0] == 401
    assert wsgi_post("/webhooks/line/999999999/", fx.raw("follow"), fx.SIGNATURES["follow"])[0] == 404
    assert wsgi_post(channel.webhook_path, b"", method="GET")[0] == 405
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_webhook_prefix_of_the_wsgi_entry_reaches_the_webhook_and_nothing_else(channel):
    assert wsgi_post("/webhooks/line/../../admin/login/", b"", method="GET")[0] == 404
    assert wsgi_post(channel.webhook_path + "extra/", fx.raw("follow"), fx.SIGNATURES["follow"])[0] == 404
    # Everything else is the full site, middleware and all.
    status, headers, _ = wsgi_post("/admin/login/", b"", method="GET")
    assert status == 200 and "csrftoken" in headers.get("Set-Cookie", "")


def test_the_wsgi_entry_answers_the_webhook_route_and_only_it():
    import config.wsgi

    path = reverse("line-webhook", kwargs={"channel_id": "2000100000"})
    assert path.startswith(config.wsgi.WEBHOOK_PREFIX)
    post = {"REQUEST_METHOD": "POST", "PATH_INFO": path, "wsgi.url_scheme": "http"}
    assert webhook_wsgi.channel_id_of(post) == "2000100000"
    assert webhook_wsgi.channel_id_of(dict(post, REQUEST_METHOD="GET")) is None
    assert webhook_wsgi.channel_id_of(dict(post, PATH_INFO=path + "x/")) is None


def test_a_plain_http_webhook_is_left_to_the_site_when_it_requires_https(settings):
    # The site's SecurityMiddleware then redirects it, as it redirects every plain-HTTP request.
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    post = {"REQUEST_METHOD": "POST", "PATH_INFO": "/webhooks/line/2000100000/", "wsgi.url_scheme": "http"}

    assert webhook_wsgi.channel_id_of(post) is None
    assert webhook_wsgi.channel_id_of(dict(post, HTTP_X_FORWARDED_PROTO="http")) is None
    assert webhook_wsgi.channel_id_of(dict(post, HTTP_X_FORWARDED_PROTO="https")) == "2000100000"


@pytest.mark.django_db(transaction=True)
def test_an_https_webhook_behind_the_proxy_is_stored_and_carries_hsts(channel, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 3600

    status, headers, _ = wsgi_post(
        channel.webhook_path, fx.raw("follow"), fx.SIGNATURES["follow"], HTTP_X_FORWARDED_PROTO="https"
    )

    assert status == 200
    assert headers["Strict-Transport-Security"] == "max-age=3600"
    assert WebhookEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_wsgi_refusal_is_json_with_the_reason(channel):
    status, headers, body = wsgi_post(channel.webhook_path, b"{not json", fx.sign(fx.SECRET, b"{not json"))

    assert status == 400 and headers["Content-Type"] == "application/json"
    assert json.loads(body)["message"] == "The body is not valid JSON."


# --- group commit: the POSTs of a threaded server share one insert ---------------------------------------


class HeldWriter:
    """The group commit's inserts, recorded (how many POSTs each wrote); the first waits for release()."""

    def __init__(self, monkeypatch):
        self.writes: list[int] = []
        self._release = threading.Event()
        real_insert = intake._insert

        def insert(conn, posts, now, **kwargs):
            self.writes.append(len(posts))
            if len(self.writes) == 1:
                self._release.wait(20)
            real_insert(conn, posts, now, **kwargs)

        monkeypatch.setattr(intake, "_insert", insert)

    def release(self) -> None:
        self._release.set()


def _post_in_thread(path: str, body: bytes, statuses: list) -> threading.Thread:
    """POST from a thread of its own, as gunicorn's gthread workers do; its status goes to ``statuses``."""

    def post() -> None:
        try:
            statuses.append(wsgi_post(path, body, fx.sign(fx.SECRET, body), multithread=True)[0])
        finally:
            connections.close_all()

    thread = threading.Thread(target=post)
    thread.start()
    return thread


def _held_group(monkeypatch, first: tuple[str, bytes], rest: list[tuple[str, bytes]]) -> tuple[list[int], list[int]]:
    """POST ``first``; while the writer is held inside its insert, POST ``rest`` and wait until all of them
    are waiting for the writer; then let it go. Returns (the POSTs per insert, the statuses)."""
    writer = HeldWriter(monkeypatch)
    statuses: list[int] = []
    threads = [_post_in_thread(*first, statuses)]
    wait_until(lambda: writer.writes, timeout=10, message="the writer to take the first POST")
    threads += [_post_in_thread(path, body, statuses) for path, body in rest]
    wait_until(lambda: intake.group_commit.waiting() == len(rest), timeout=10, message="the POSTs to gather")
    writer.release()
    for thread in threads:
        thread.join(30)
    return writer.writes, statuses


def _bodies(count: int, per_post: int = 1) -> list[bytes]:
    base = fx.events("message_text")[0]
    return [
        fx.encode(
            [
                dict(
                    base,
                    webhookEventId=f"01JGKZ3QW8V4M1N2P3Q{i:03d}{j:04d}",
                    source={"type": "user", "userId": f"U{i:032x}"},
                )
                for j in range(per_post)
            ]
        )
        for i in range(count)
    ]


@pytest.mark.django_db(transaction=True)
def test_posts_waiting_together_share_one_insert_and_each_answers_after_its_commit(channel, monkeypatch):
    fx.post(Client(), channel, fx.events("follow"))  # the channel is cached
    bodies = [(channel.webhook_path, body) for body in _bodies(20, per_post=3)]

    writes, statuses = _held_group(monkeypatch, bodies[0], bodies[1:])

    assert statuses == [200] * 20
    assert writes == [1, 19]  # the nineteen that gathered meanwhile went in one statement
    assert WebhookEvent.objects.count() == 1 + 60


@pytest.mark.django_db(transaction=True)
def test_many_concurrent_posts_are_each_stored_once_before_their_200(channel):
    bodies = _bodies(40)
    statuses: list[int] = []
    threads = [_post_in_thread(channel.webhook_path, body, statuses) for body in bodies + bodies[:10]]
    for thread in threads:  # ten of them twice, as LINE may duplicate
        thread.join(30)

    assert statuses == [200] * 50
    assert WebhookEvent.objects.count() == 40


@pytest.mark.django_db(transaction=True)
def test_a_post_whose_channel_is_gone_fails_alone_in_its_group(channel, monkeypatch):
    other = ChannelFactory(channel_secret=fx.SECRET, bot_user_id=fx.DESTINATION)
    fx.post(Client(), channel, fx.events("follow"))
    fx.post(Client(), other, fx.events("follow"))
    Channel.objects.filter(pk=other.pk).delete()
    # This process still holds the deleted channel, as another process's deletion leaves it.
    intake._channels[other.channel_id] = (
        time.monotonic() + 60,
        intake.ChannelKeys(other.pk, other.channel_id, fx.SECRET, fx.DESTINATION),
    )
    bodies = _bodies(6)

    writes, statuses = _held_group(
        monkeypatch,
        (channel.webhook_path, bodies[0]),
        [(channel.webhook_path, body) for body in bodies[1:5]] + [(other.webhook_path, bodies[5])],
    )

    assert writes[:2] == [1, 5]  # the five shared a statement, which failed; then each went alone
    assert sorted(statuses) == [200] * 5 + [404]
    assert WebhookEvent.objects.count() == 1 + 5
    assert other.channel_id not in intake._channels


@pytest.mark.django_db(transaction=True)
def test_the_writer_plans_its_insert_once_and_other_connections_prepare_nothing(channel, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    fx.post(Client(), channel, fx.events("follow"))  # the channel is cached; this POST went in alone
    real_insert, seen = intake._insert, []

    def insert(conn, posts, now, **kwargs):
        real_insert(conn, posts, now, **kwargs)
        with conn.connection.cursor() as cursor:  # the writer's own session
            cursor.execute(
                "SELECT count(*), sum(generic_plans), sum(custom_plans), current_setting('plan_cache_mode')"
                " FROM pg_prepared_statements WHERE statement LIKE %s",
                ["%INSERT INTO messaging_webhookevent%"],
            )
            seen.append(cursor.fetchone())

    monkeypatch.setattr(intake, "_insert", insert)
    statuses: list[int] = []
    for body in _bodies(3):  # one after another: three group commits on the writer's connection
        _post_in_thread(channel.webhook_path, body, statuses).join(30)

    assert statuses == [200] * 3
    # Prepared by the first and reused by the others, never planned again: one generic plan, no custom ones.
    assert seen == [(1, n, 0, "force_generic_plan") for n in (1, 2, 3)]
    assert WebhookEvent.objects.count() == 1 + 3
    assert connection.connection.prepare_threshold is None  # Django's default everywhere else
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('plan_cache_mode')")
        assert cursor.fetchone() == ("auto",)


@pytest.mark.django_db(transaction=True)
def test_the_writer_gives_its_connection_back_as_django_configures_it(channel):
    if connection.vendor != "postgresql":
        pytest.skip("plan_cache_mode and prepared statements are PostgreSQL's")
    statement = intake.WriterStatement()
    posts = [intake.Post(channel.pk, json.dumps({"events": [event]})) for event in fx.events("follow")]
    intake._insert(connection, posts, timezone.now(), statement=statement)
    intake._insert(connection, posts, timezone.now(), statement=statement)  # a duplicate: nothing more
    assert WebhookEvent.objects.count() == 1

    statement.release(connection)  # what the writer does before its connection is closed (or pooled)

    assert connection.connection.prepare_threshold is None
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('plan_cache_mode')")
        assert cursor.fetchone() == ("auto",)


@pytest.mark.django_db(transaction=True)
def test_a_post_the_database_keeps_waiting_gets_503_and_its_redelivery_collapses(channel, monkeypatch):
    monkeypatch.setattr(intake, "GROUP_WAIT_SECONDS", 0.3)
    writer = HeldWriter(monkeypatch)  # the database does not answer the first insert until released
    body = _bodies(1)[0]

    status, _, answer = wsgi_post(channel.webhook_path, body, fx.sign(fx.SECRET, body), multithread=True)

    assert status == 503 and "send the events again" in json.loads(answer)["message"]
    writer.release()  # the insert goes through after all
    wait_until(lambda: WebhookEvent.objects.count() == 1, timeout=10)
    status, _, _ = wsgi_post(channel.webhook_path, body, fx.sign(fx.SECRET, body), multithread=True)
    assert status == 200  # LINE's redelivery
    assert WebhookEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("threaded", [False, True])
def test_nul_and_lone_surrogates_are_stored_as_replacement_characters(channel, threaded):
    event = dict(fx.events("message_text")[0], webhookEventId="01JGKZ3QW8V4M1N2P3Q4R5S6T7")
    body = fx.encode([event]).replace(
        json.dumps(event["message"]["text"]).encode(), rb'"nul \\u0000 \u0000 lone \ud800 pair \ud83d\ude00"'
    )
    assert rb"\u0000" in body

    status, _, _ = wsgi_post(channel.webhook_path, body, fx.sign(fx.SECRET, body), multithread=threaded)

    assert status == 200
    stored = WebhookEvent.objects.get()
    assert stored.payload["message"]["text"] == "nul \\u0000 \ufffd lone \ufffd pair \U0001f600"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("threaded", [False, True])
def test_numbers_past_64_bits_and_past_a_doubles_range_are_stored_as_sent(channel, threaded):
    event = dict(fx.events("message_text")[0], webhookEventId="01JGKZ3QW8V4M1N2P3Q4R5S6T8")
    body = fx.encode([event]).replace(b'"timestamp": ', b'"big": 123456789012345678901234567890, "timestamp": ', 1)
    body = body.replace(b'"timestamp": ', b'"tiny": 1e-400, "timestamp": ', 1)

    status, _, _ = wsgi_post(channel.webhook_path, body, fx.sign(fx.SECRET, body), multithread=threaded)

    assert status == 200
    stored = WebhookEvent.objects.get()
    assert stored.payload["big"] == 123456789012345678901234567890  # not rounded to a float
    assert stored.payload["tiny"] == 0 and stored.payload["message"] == event["message"]


def test_nan_and_infinity_are_not_json_and_get_a_400(client, channel):
    body = fx.encode(fx.events("message_text")).replace(b'"timestamp": ', b'"x": NaN, "timestamp": ', 1)

    response = fx.post(client, channel, body)

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()
