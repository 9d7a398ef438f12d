"""Webhook intake: check, store raw in one insert, and hand the rows to Celery. Nothing slow happens here.

LINE counts a webhook as failed after 2 seconds, and may redeliver or duplicate events: the request only
verifies the signature, parses, inserts every event once (unique on channel + webhookEventId, conflicts
ignored so duplicates and redeliveries collapse), commits, and answers 200.

The costs a POST does not pay (measured in bench/webhook_ingest.py; see bench/README.md): the channel is
read from a per-process cache instead of a SELECT plus three Fernet decryptions; the verified body goes to
PostgreSQL as the one parameter of a statement whose text never changes, and PostgreSQL takes the columns
from it, instead of a model instance, a re-serialised payload and a placeholder group per event; and the
Celery publish (about 1 ms of CPU) happens in a background thread that sends one task per channel (a
few hundred sources at most) for everything committed in the last tenth of a second. Under a threaded server
(gunicorn's gthread workers, runserver) the POSTs of one process that wait on the database at the same
time are written by one writer thread in one statement and one commit (GroupCommit): PostgreSQL spends
about 520 µs of CPU on a one-event autocommitted insert (~400 µs of it the commit's WAL flush) and 25-35 µs
an event in a batch.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import re
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
import psycopg
from django.conf import settings
from django.core.cache import cache
from django.db import (
    DataError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    transaction,
)
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _

from accounts.models import Channel
from lineapi import signature

from ..models import WebhookEvent

log = logging.getLogger(__name__)

# LINE's API refuses request bodies over 2 MB; a webhook body larger than that is not LINE's.
MAX_BODY_BYTES = getattr(settings, "LINE_WEBHOOK_MAX_BYTES", 2 * 1024 * 1024)
BOT_USER_ID = re.compile(r"^U[0-9a-f]{32}$")
# Milliseconds since the epoch up to the end of year 9999 (a LINE timestamp is far inside).
MAX_TIMESTAMP_MS = 253402300799999
# How long a process trusts its copy of a channel's secret and bot user ID. A change saved through the
# ORM clears the copy at once in the process that saved it; other processes see it within this time, and
# a signature that fails against the copy is checked once more against the database, so a new secret is
# accepted everywhere at once and an old one keeps working at most this long.
CHANNEL_TTL_SECONDS = getattr(settings, "LINE_WEBHOOK_CHANNEL_TTL", 10.0)
# How long the publisher thread gathers committed sources before sending their tasks: a Celery publish
# costs about 1 ms of CPU, so a busy process sends at most ten a second whatever the rate of POSTs, and an
# event's processing starts at most this much later.
ENQUEUE_LINGER_SECONDS = getattr(settings, "LINE_WEBHOOK_ENQUEUE_LINGER", 0.1)
# What one group commit writes at most: LINE's bodies are up to 2 MB, a statement should stay well under
# PostgreSQL's limits and a writer must not make the first POST of a batch wait on the last for long.
GROUP_MAX_POSTS = getattr(settings, "LINE_WEBHOOK_GROUP_MAX_POSTS", 256)
GROUP_MAX_BYTES = 8 * 1024 * 1024
# How long a POST waits for its group commit before it answers 503 (LINE then redelivers; the row, if it
# was written after all, makes the redelivery a duplicate that collapses). LINE itself waits 2 s.
GROUP_WAIT_SECONDS = getattr(settings, "LINE_WEBHOOK_GROUP_WAIT", 20.0)
# Under gevent, how long at most the writer lets the greenlets that can run go before it takes a batch.
GROUP_GATHER_SECONDS = getattr(settings, "LINE_WEBHOOK_GROUP_GATHER", 0.01)
# Sources per task: a publish costs about 1 ms of CPU whatever its size, and at 100 events a POST from as
# many users one publish per POST was a tenth of the intake's CPU; a worker goes through 500 sources'
# events in a few seconds, well inside the minute a reply token lasts, and a busy process sends one task
# per 500 sources a tenth of a second.
SOURCES_PER_TASK = getattr(settings, "LINE_WEBHOOK_SOURCES_PER_TASK", 500)
# The group commit's writer keeps its INSERT prepared on its own connection. Behind a pooler that cannot
# carry prepared statements across its transactions (PgBouncer in transaction mode before 1.21, or without
# max_prepared_statements) set LINE_WEBHOOK_PREPARED_INSERT = False.
PREPARED_INSERT = getattr(settings, "LINE_WEBHOOK_PREPARED_INSERT", True)


class Rejected(Exception):
    """The request is refused; nothing was stored. ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, reason):
        super().__init__(str(reason))
        self.status = status
        self.reason = reason


def unavailable() -> Rejected:
    """The refusal of a POST whose rows the database did not take in time (LINE then sends them again)."""
    return Rejected(503, _("The database did not answer in time; LINE will send the events again."))


def channel_gone() -> Rejected:
    """The refusal of a POST whose insert broke the channel's foreign key: the only constraint a
    conflict-ignoring insert can break, so the channel was deleted since this process cached it."""
    forget_channels()
    return Rejected(404, _("This channel does not exist."))


def unstorable_value() -> Rejected:
    """The refusal of a POST holding a value the database refuses to store."""
    return Rejected(400, _("An event holds a value the database cannot store."))


@dataclass(frozen=True)
class Accepted:
    received: int
    sources: tuple[str, ...]


# --- the channel, from a per-process cache -------------------------------------------------------------


@dataclass(frozen=True)
class ChannelKeys:
    """What intake needs of a channel (the same attribute names as on Channel)."""

    pk: int
    channel_id: str
    channel_secret: str
    bot_user_id: str


_channels: dict[str, tuple[float, ChannelKeys]] = {}


def cached_channel(channel_id: str) -> ChannelKeys | None:
    """The channel from this process's cache when its copy is still fresh; None otherwise (no query)."""
    hit = _channels.get(channel_id)
    return hit[1] if hit is not None and hit[0] > time.monotonic() else None


def channel_for(channel_id: str, *, fresh: bool = False, upkeep: bool = False) -> ChannelKeys | None:
    """The active channel with this LINE channel ID, or None. Unknown IDs are never cached.

    ``upkeep``: the caller runs outside Django's request handling (messaging.webhooks.wsgi), so the
    connection upkeep Django does at each request's start is done here, before the query, if one is needed.
    """
    now = time.monotonic()
    hit = _channels.get(channel_id)
    if hit is not None and not fresh and hit[0] > now:
        return hit[1]
    if upkeep:
        close_old_connections()
    row = (
        Channel.objects.filter(channel_id=channel_id, is_active=True)
        .values_list("pk", "channel_secret", "bot_user_id")
        .first()
    )
    if row is None:
        _channels.pop(channel_id, None)
        return None
    keys = ChannelKeys(row[0], channel_id, row[1], row[2])
    _channels[channel_id] = (now + CHANNEL_TTL_SECONDS, keys)
    return keys


def forget_channels(**kwargs) -> None:
    """Drop every cached channel (a channel was saved or deleted; its channel ID itself may have changed)."""
    _channels.clear()


post_save.connect(forget_channels, sender=Channel, dispatch_uid="messaging.intake.forget_channels")
post_delete.connect(forget_channels, sender=Channel, dispatch_uid="messaging.intake.forget_channels.delete")


# --- checks ------------------------------------------------------------------------------------------------


def check_size(content_length: str | None) -> int:
    """The Content-Length as a number; Rejected(400) when it is not one or is more than LINE ever sends."""
    try:
        length = int(content_length or 0)
    except ValueError:
        raise Rejected(400, _("Invalid Content-Length.")) from None
    if length > MAX_BODY_BYTES:
        raise Rejected(400, _("The body is larger than LINE ever sends."))
    return length


def check_signature(channel, body: bytes, header: str | None):
    """The channel whose secret signed ``body``: the cached one, or the database's when the secret changed
    since it was cached. Rejected(401) when neither matches."""
    if len(body) > MAX_BODY_BYTES:
        raise Rejected(400, _("The body is larger than LINE ever sends."))
    if signature.verify(channel.channel_secret, body, header):
        return channel
    if header:
        current = channel_for(channel.channel_id, fresh=True)
        if (
            current is not None
            and current.channel_secret != channel.channel_secret
            and signature.verify(current.channel_secret, body, header)
        ):
            return current
    _count_bad_signature(channel.channel_id)
    # Never log the body: it holds users' messages; the header alone proves nothing either.
    log.warning(
        "webhook signature rejected: channel=%s bytes=%d header=%s",
        channel.channel_id,
        len(body),
        "present" if header else "missing",
    )
    raise Rejected(401, _("The x-line-signature header is missing or does not match the body."))


def bad_signature_count(channel_id: str) -> int:
    return cache.get(_bad_key(channel_id), 0)


def _bad_key(channel_id: str) -> str:
    return f"messaging:webhook:bad-signature:{channel_id}"


def _count_bad_signature(channel_id: str) -> None:
    key = _bad_key(channel_id)
    try:
        if not cache.add(key, 1, timeout=None):
            cache.incr(key)
    except Exception:  # a counter must never turn a 401 into a 500
        log.exception("could not count a rejected webhook signature")


def parse(channel, body: bytes) -> list[dict]:
    """The events of a verified body; Rejected(400) when it is not a LINE webhook body for this channel."""
    data = loads(body)
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        raise Rejected(400, _("The body has no events list."))
    destination = data.get("destination")
    if not isinstance(destination, str) or not BOT_USER_ID.match(destination):
        raise Rejected(400, _("The destination is not a bot user ID."))
    if channel.bot_user_id and destination != channel.bot_user_id:
        raise Rejected(400, _("The destination is another bot, not this channel's."))
    events = data["events"]
    for event in events:
        if not (
            type(event) is dict
            and type(event_id := event.get("webhookEventId")) is str
            and 0 < len(event_id) <= 64
            and type(event.get("type")) is str
            and type(timestamp := event.get("timestamp")) is int
            and 0 <= timestamp <= MAX_TIMESTAMP_MS
        ):
            raise Rejected(400, _("An event lacks its type, timestamp or webhookEventId."))
    return events


def receive(channel_id: str, content_length, read, header: str | None, *, concurrent=False, upkeep=False):
    """The whole intake of one POST: channel, size, signature, parse, store. Returns Accepted once the rows
    are committed; raises Rejected with the status to answer (404 for a channel that is not ours).

    ``read(length)`` returns the body; it is called only once the size is known to be acceptable. ``concurrent``:
    other POSTs of this process may be waiting on the database at the same time (a threaded server), so
    the rows go through the process's group commit.
    """
    try:
        channel = channel_for(channel_id, upkeep=upkeep)  # per-process cache, no query on most POSTs
        if channel is None:
            raise Rejected(404, _("This channel does not exist."))
        body = read(check_size(content_length))
        channel = check_signature(channel, body, header)
        events = parse(channel, body)
    finally:
        if upkeep:
            # As at the end of a Django request, whatever the answer: a connection this POST borrowed to read
            # its channel goes back (or an obsolete one closes), and before the POST waits for the group
            # commit: from a pool (gevent) it would otherwise be held while the writer waits for one. Most
            # POSTs touched no connection, and this costs them ~2 µs.
            close_old_connections()
    return store(channel, events, body, concurrent=concurrent)


def loads(body: bytes):
    """The parsed body; Rejected(400) when it is not JSON as PostgreSQL reads it (UTF-8, no NaN or Infinity).

    orjson parses a 100-event body in about half the standard library's time. It refuses a few bodies
    PostgreSQL takes, such as an unpaired UTF-16 surrogate escape (stored with U+FFFD, see storable) or a
    number beyond a double's range: those, and anything else it refuses, are parsed again by the standard
    library, which decides. It reads integers past 64 bits as floats; that is harmless here, because the
    parse only checks the events and finds their sources: PostgreSQL stores the body's own text, and the
    model path and storable() parse that text again, exactly.
    """
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        # LINE sends UTF-8 JSON; PostgreSQL reads the same text, and refuses NaN and Infinity as JSON does.
        return json.loads(body.decode("utf-8"), parse_constant=_not_json)
    except (ValueError, UnicodeDecodeError):
        raise Rejected(400, _("The body is not valid JSON.")) from None


def _not_json(constant: str):
    raise ValueError(f"{constant} is not JSON")


def _text(value) -> str:
    """A string field's value; anything else (missing, null, a number...) counts as empty."""
    return value if type(value) is str else ""


def source_of(event: dict) -> tuple[str, str, str]:
    """(source type, source ID, user ID): a group's or room's ID for group chats, else the user's.

    _INSERT computes the same three columns in SQL; the two must stay in step.
    """
    source = event.get("source")
    if type(source) is not dict:
        return "", "", ""
    user_id = _text(source.get("userId"))[:64]
    source_id = (_text(source.get("groupId")) or _text(source.get("roomId")) or user_id)[:64]
    return _text(source.get("type"))[:8], source_id, user_id


# --- storing -----------------------------------------------------------------------------------------------


def store(channel, events: list[dict], body: bytes | None = None, *, concurrent: bool = False) -> Accepted:
    """Insert every event in one statement; duplicates (same channel + webhookEventId) are ignored.

    ``body`` is the verified body ``events`` came from (PostgreSQL then reads the events from it).
    ``concurrent``: hand the rows to this process's group commit (see receive()).
    Returns once the rows are committed; their processing is enqueued after that, never before.
    """
    prepared = prepare(events, body)
    if prepared is None:
        return Accepted(0, ())
    sources, received, text = prepared
    try:
        if connection.in_atomic_block:  # inside the caller's transaction: the rows commit with it
            _insert(connection, [Post(channel.pk, text)], datetime.now(tz=UTC))
            transaction.on_commit(lambda: enqueue(channel.pk, sources))
            return Accepted(received, sources)
        if concurrent:
            group_commit.write(Post(channel.pk, text))
        else:
            _insert(connection, [Post(channel.pk, text)], datetime.now(tz=UTC))
    except IntegrityError:
        raise channel_gone() from None
    except DataError:
        log.exception("webhook insert refused by the database: channel=%s events=%d", channel.channel_id, received)
        raise unstorable_value() from None
    enqueue(channel.pk, sources)
    return Accepted(received, sources)


def prepare(events: list[dict], body: bytes | None) -> tuple[tuple[str, ...], int, str] | None:
    """The sources of ``events``, how many there are and the JSON text to store them from (the body itself
    unless it spells characters PostgreSQL refuses); None when there are no events.

    What is written is the text alone: a POST that waits for its commit should not keep its parsed events
    alive. At 100 events a POST, a busy process's waiting POSTs held tens of thousands of event dicts,
    which reached the garbage collector's oldest generation and set off full collections: a quarter of the
    server's CPU (bench/README.md).
    """
    if not events:
        return None
    sources = tuple(dict.fromkeys(source_of(event)[1] for event in events))
    if body is not None and UNSTORABLE.search(body):
        # Parsed again by the standard library: orjson would have made floats of integers past 64 bits.
        events, body = storable(json.loads(body.decode("utf-8"))["events"]), None
    text = body.decode("utf-8") if body is not None else json.dumps({"events": events}, ensure_ascii=False)
    return sources, len(events), text


# PostgreSQL's jsonb and text refuse the NUL character and UTF-16 surrogates that are not in a pair, both
# of which JSON can spell (as \u0000 and \ud800...). A body whose text has such an escape (or a valid
# pair, or an escaped backslash before "u0000": those are stored as they are, only more slowly) is stored
# from its parsed events with those characters replaced by U+FFFD, so the event is kept and readable.
UNSTORABLE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")


def storable(value):
    """``value`` (parsed JSON) with NULs and lone surrogates in its strings and keys replaced by U+FFFD."""
    if type(value) is str:
        return _UNSTORABLE_TEXT.sub("\ufffd", value)
    if type(value) is list:
        return [storable(item) for item in value]
    if type(value) is dict:
        return {storable(key): storable(item) for key, item in value.items()}
    return value


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _model(channel_pk: int, event: dict, now: datetime) -> WebhookEvent:
    kind, source_id, user_id = source_of(event)
    delivery = event.get("deliveryContext")
    return WebhookEvent(
        channel_id=channel_pk,
        webhook_event_id=event["webhookEventId"],
        type=event["type"][:40],
        mode=_text(event.get("mode"))[:16],
        source_type=kind,
        source_id=source_id,
        user_id=user_id,
        timestamp=EPOCH + timedelta(milliseconds=event["timestamp"]),
        payload=event,
        is_redelivery=type(delivery) is dict and delivery.get("isRedelivery") is True,
        received_at=now,
    )


@dataclass
class Post:
    """One POST's verified events, waiting to be written: its channel and the events' JSON text."""

    channel_pk: int
    text: str
    error: BaseException | None = None
    # Held while the POST waits for its group commit; the writer releases it once the rows are committed.
    waiter: threading.Lock | None = None


# The events go to PostgreSQL as the bodies LINE signed, one text array parameter, and PostgreSQL takes each
# event's columns from them in C: no model instance, no re-serialised payload and no placeholder per event,
# and one statement text for any number of events and POSTs. Column for column it writes what _model does.
_STRING = "CASE WHEN jsonb_typeof({0}) = 'string' THEN {0} #>> '{{}}' ELSE '' END"
_INSERT = f"""
INSERT INTO {WebhookEvent._meta.db_table} (channel_id, webhook_event_id, type, mode, source_type, source_id,
    user_id, timestamp, payload, is_redelivery, status, attempts, last_error, received_at)
SELECT post.channel_id, e->>'webhookEventId', left(e->>'type', 40), left({_STRING.format("e->'mode'")}, 16),
    left({_STRING.format("s->'type'")}, 8),
    left(coalesce(nullif({_STRING.format("s->'groupId'")}, ''), nullif({_STRING.format("s->'roomId'")}, ''),
        left({_STRING.format("s->'userId'")}, 64)), 64),
    left({_STRING.format("s->'userId'")}, 64),
    timestamptz 'epoch' + (e->>'timestamp')::bigint * interval '1 millisecond',
    e, coalesce(e->'deliveryContext'->'isRedelivery' = 'true'::jsonb, false), %s, 0, '', %s
FROM unnest(%s::bigint[], %b::text[]) AS post(channel_id, body),
    jsonb_array_elements(post.body::jsonb -> 'events') AS e,
    LATERAL (SELECT CASE WHEN jsonb_typeof(e->'source') = 'object' THEN e->'source' END AS s) AS source
ON CONFLICT (channel_id, webhook_event_id) DO NOTHING
"""  # noqa: S608 (only our own table name is interpolated; every value is a bound parameter)


def _insert(conn, posts: list[Post], now: datetime, *, statement: WriterStatement | None = None) -> None:
    """Write every event of ``posts``, duplicates ignored, on ``conn`` (the calling thread's connection).

    On PostgreSQL outside a transaction: one autocommitted INSERT ... ON CONFLICT DO NOTHING, with no
    BEGIN/COMMIT round trips. The statement is idempotent, so instead of Django's per-request health check
    (a SELECT 1 round trip before the first query) a connection found broken is replaced and the statement
    sent once more; if the first attempt did commit before the connection broke, the second inserts nothing.
    Elsewhere (SQLite, or inside the caller's transaction): the model path, in one transaction.
    ``statement``: ``conn`` runs nothing but this statement (the group commit's writer), which keeps it
    prepared there (see WriterStatement).
    """
    if conn.vendor != "postgresql" or conn.in_atomic_block:
        with transaction.atomic(using=conn.alias):
            # Parsed again, exactly: the intake's parse may have turned integers past 64 bits into floats.
            events = ((post.channel_pk, event) for post in posts for event in json.loads(post.text)["events"])
            rows = [_model(channel_pk, event, now) for channel_pk, event in events]
            WebhookEvent.objects.using(conn.alias).bulk_create(rows, ignore_conflicts=True)
        return
    params = [WebhookEvent.Status.PENDING.value, now, [post.channel_pk for post in posts], [p.text for p in posts]]
    for attempt in (1, 2):
        conn.health_check_done = True
        try:
            if statement is not None and PREPARED_INSERT:
                statement.execute(conn, params)
            else:
                with _server_bound_cursor(conn) as cursor:
                    cursor.execute(_INSERT, params)
            return
        except (OperationalError, InterfaceError):
            if attempt == 2:
                raise
            log.warning("webhook insert: database connection broken; retrying once on a new one")
            conn.close()


def _server_bound_cursor(conn, raw: psycopg.Cursor | None = None):
    """A Django cursor whose parameters travel apart from the statement (psycopg's server-side binding).

    Django's psycopg cursors bind on the client: each body would be escaped into the statement's text in
    Python (about 70 µs an event, most of a POST's CPU). Bound on the server, the bodies go as they are.
    ``raw``: the psycopg cursor to wrap (a new one by default). Queries are logged as on any Django cursor.
    """
    conn.ensure_connection()
    raw = raw or psycopg.Cursor(conn.connection)
    return conn.make_debug_cursor(raw) if conn.queries_logged else conn.make_cursor(raw)


class WriterStatement:
    """The group commit's INSERT on the writer's own connection: parsed once, planned once, one cursor.

    Django turns psycopg's automatic preparing off (prepare_threshold None, for poolers such as PgBouncer in
    transaction mode), so PostgreSQL would parse and plan the INSERT at every commit. On the writer's
    connection, which runs nothing else, it is prepared on first use instead. Prepared is not enough: for
    the few POSTs a commit carries at one event a POST, PostgreSQL's plan cache keeps choosing a custom
    plan, planned again at each execution for the arrays it was given, because the generic plan's row
    estimates for unnest() look costlier; the plan is the same either way, so the connection is told to
    use the generic one (plan_cache_mode). Measured on the statement alone: ~290 µs of PostgreSQL's CPU a
    one-POST commit unprepared and custom-planned, ~160 µs with the generic plan; at 100 events a POST it
    makes no difference. One psycopg cursor serves every execution (a new one a commit cost the writer
    ~20-40 µs). ``release`` puts the connection back as Django configures it, before it goes to a pool.
    """

    def __init__(self):
        self._raw = None  # the psycopg connection set up for the statement
        self._cursor = None

    def execute(self, conn, params) -> None:
        conn.ensure_connection()
        raw = conn.connection
        if raw is not self._raw:  # a new connection (first use, or the last one broke)
            with conn.wrap_database_errors:
                raw.execute("SET plan_cache_mode = force_generic_plan")
            raw.prepare_threshold = 0  # prepared on first use
            self._raw, self._cursor = raw, psycopg.Cursor(raw)
        _server_bound_cursor(conn, self._cursor).execute(_INSERT, params)  # never closed: it serves the next

    def release(self, conn) -> None:
        """Django's settings again on ``conn``'s connection, if this statement set it up (before it is closed)."""
        raw, self._raw, self._cursor = self._raw, None, None
        if raw is None or conn.connection is not raw or raw.closed:
            return
        raw.prepare_threshold = None
        try:
            raw.execute("RESET plan_cache_mode")
        except psycopg.Error:  # a broken connection is closed next anyway
            log.warning("webhook writer: could not reset plan_cache_mode on its connection")


class _Batch:
    """The POSTs one insert will write."""

    __slots__ = ("posts", "size")

    def __init__(self):
        self.posts: list[Post] = []
        self.size = 0


class GroupCommit:
    """One writer thread per process that writes the POSTs waiting on the database in one statement.

    A POST joins the open batch and waits. The writer takes the open batch (a new one opens at once),
    writes it in one autocommitted INSERT on its own connection and wakes its POSTs, which answer 200: a
    200 still means committed. While it writes, the next POSTs gather, so the busier the process the
    larger the batches, and an idle one writes a lone POST at once: no lingering. Under gevent
    (WEB_WORKER_CLASS=gevent in config/gunicorn.conf.py) the writer is a greenlet, and before taking a batch
    it lets every greenlet that can run go first (GROUP_GATHER_SECONDS at most): the POSTs already read from
    their sockets join, so at a busy process's peak one commit carries all of them. A batch closes at
    GROUP_MAX_POSTS POSTs or GROUP_MAX_BYTES. If a batch fails, each of its POSTs is written alone, so one
    POST's fault (a channel deleted meanwhile) is its own: the others are stored and it gets its error.

    Each waiting thread sleeps on a lock of its own, which the writer releases: one wake-up a POST and no
    shared lock to contend for (a threading.Event woke a whole batch at once to re-take its Condition's
    lock). The hand-offs between threads remain this design's cost: under gthread a POST took ~17 context
    switches against the Flask baseline's ~9, which is why the deployed web process answers webhooks on an
    event loop instead (messaging.webhooks.asgi).
    """

    def __init__(self):
        self._reset()
        os.register_at_fork(after_in_child=self._reset)
        atexit.register(self.stop)

    def _reset(self) -> None:
        self._lock = threading.Lock()  # guards everything below
        self._wake = threading.Lock()  # held, except to wake an idle writer
        self._wake.acquire()
        self._open = _Batch()
        self._full: list[_Batch] = []  # closed by their size, oldest first
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._idle = False  # the writer sleeps on _wake (a busy one looks for more when it is done)
        self._statement = WriterStatement()

    def waiting(self) -> int:
        """How many POSTs wait for the writer to take them."""
        with self._lock:
            return len(self._open.posts) + sum(len(batch.posts) for batch in self._full)

    def stop(self, timeout: float = 5.0) -> None:
        """Let the writer finish what is waiting, close its connection and end (a new write starts it again)."""
        with self._lock:
            thread, self._stopping = self._thread, True
            self._wake_writer()
        if thread is not None:
            thread.join(timeout)
        with self._lock:
            self._stopping = False

    def _wake_writer(self) -> None:
        """Wake the writer if it sleeps (called with _lock held; releases _wake once per sleep)."""
        if self._idle:
            self._idle = False
            self._wake.release()

    def write(self, post: Post) -> None:
        """Return once ``post``'s rows are committed; raise what writing them raised."""
        post.waiter = threading.Lock()
        post.waiter.acquire()
        with self._lock:
            batch = self._open
            batch.posts.append(post)
            batch.size += len(post.text)
            if len(batch.posts) >= GROUP_MAX_POSTS or batch.size >= GROUP_MAX_BYTES:
                self._full.append(batch)
                self._open = _Batch()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="webhook-group-commit", daemon=True)
                self._thread.start()
            else:
                self._wake_writer()
        if not post.waiter.acquire(timeout=GROUP_WAIT_SECONDS):
            log.error("webhook group commit: no answer from the database in %.0f s", GROUP_WAIT_SECONDS)
            raise unavailable()
        if post.error is not None:
            raise post.error

    def _take(self) -> _Batch | None:
        while True:
            with self._lock:
                if self._full or self._open.posts:
                    if self._full or not _cooperative():
                        return self._next_batch()
                    break
                if self._stopping:
                    self._thread = None
                    return None
                self._idle = True
            self._wake.acquire()  # until a POST (or stop) releases it
        _let_ready_greenlets_run(GROUP_GATHER_SECONDS)  # POSTs only join meanwhile: nothing else takes a batch
        with self._lock:
            return self._next_batch()

    def _next_batch(self) -> _Batch:
        """The oldest full batch, else the open one (a new one opens). Called with the lock held."""
        if self._full:
            return self._full.pop(0)
        batch, self._open = self._open, _Batch()
        return batch

    def _run(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                self._statement.release(connection)  # as a pool expects it
                connection.close()
                return
            try:
                self._write(batch.posts)
            except BaseException as exc:  # never let the thread die with POSTs waiting on it
                log.exception("webhook group commit failed")
                for post in batch.posts:
                    post.error = post.error or exc
            finally:
                for post in batch.posts:
                    post.waiter.release()

    def _write(self, posts: list[Post]) -> None:
        try:
            _insert(connection, posts, datetime.now(tz=UTC), statement=self._statement)
        except (IntegrityError, DataError) as exc:
            if len(posts) == 1:
                posts[0].error = exc
                return
            for post in posts:  # find whose fault it was; the others are written
                try:
                    _insert(connection, [post], datetime.now(tz=UTC), statement=self._statement)
                except (IntegrityError, DataError) as alone:
                    post.error = alone


def _cooperative() -> bool:
    """Whether this process runs on gevent (its threads are greenlets sharing one event loop)."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and monkey.is_module_patched("threading")


def _let_ready_greenlets_run(at_most: float) -> None:
    """Return once gevent's loop has nothing left to run but waits, or after ``at_most`` seconds."""
    import gevent

    with gevent.Timeout(at_most, False):
        gevent.idle()


group_commit = GroupCommit()


# --- enqueueing --------------------------------------------------------------------------------------------


def enqueue(channel_pk: int, sources: tuple[str, ...] | list[str]) -> None:
    """Hand committed rows to a worker. Call only after the commit: the rows are the outbox.

    With eager tasks (tests) the task runs here and now; otherwise the sources go to the publisher thread.
    """
    if _task().app.conf.task_always_eager:
        _publish(channel_pk, list(sources))
    else:
        publisher.add(channel_pk, sources)


def _task():
    """The processing task itself, not the proxy shared_task hands out (resolving that costs every call)."""
    global _task_object
    if _task_object is None:
        from ..tasks import process_webhook_sources

        _task_object = process_webhook_sources._get_current_object()
    return _task_object


_task_object = None


def _publish(channel_pk: int, sources: list[str]) -> None:
    """One task for these sources. If the broker is down the rows wait for the sweeper."""
    try:
        _task().delay(channel_pk, sources)
    except Exception:
        log.exception("could not enqueue webhook processing; the sweeper will pick the events up")


class Publisher:
    """Committed sources waiting for their Celery task, sent by one background thread per process.

    A POST only records (channel, source) here; the thread waits ``linger`` seconds for more, then sends
    one task per channel and SOURCES_PER_TASK sources. Losing what is here (the process killed) loses no
    event: the rows are pending in the database and the sweeper re-queues them.
    """

    def __init__(self, linger: float = ENQUEUE_LINGER_SECONDS):
        self.linger = linger
        self._reset()
        os.register_at_fork(after_in_child=self._reset)
        atexit.register(self.flush)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pending: dict[int, dict[str, None]] = {}
        self._thread: threading.Thread | None = None

    def add(self, channel_pk: int, sources) -> None:
        with self._lock:
            self._pending.setdefault(channel_pk, {}).update(dict.fromkeys(sources))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="webhook-publisher", daemon=True)
                self._thread.start()
        if not self._wake.is_set():  # already set: the thread flushes after its linger, this included
            self._wake.set()

    def flush(self) -> int:
        """Send everything waiting now; returns the number of tasks sent."""
        with self._lock:
            pending, self._pending = self._pending, {}
        sent = 0
        for channel_pk, sources in pending.items():
            ids = list(sources)
            for i in range(0, len(ids), SOURCES_PER_TASK):
                _publish(channel_pk, ids[i : i + SOURCES_PER_TASK])
                sent += 1
        return sent

    def _run(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(self.linger)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # never let the thread die; the sweeper covers what was lost
                log.exception("webhook publisher failed")


publisher = Publisher()
