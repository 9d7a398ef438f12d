"""LINE's webhook POSTs on an asyncio event loop: the intake without a thread a POST (config/asgi.py).

The same checks and the same 200-means-committed as the threaded intake (intake.receive), but a POST that
waits for its commit is a coroutine, not a blocked thread: on 2 vCPUs the threaded intake spent more CPU
handing POSTs between threads (context switches, the interpreter lock) than on the POSTs themselves
(bench/README.md). Here the loop's group commit (AsyncGroupCommit) writes every POST that is waiting in
one statement and one commit, on psycopg async connections kept for it (the INSERT prepared and planned
once, as intake.WriterStatement does on a thread), and resolves each POST's future.

What needs Django's synchronous ORM runs in a thread, off the loop: a channel that is not in the process's
cache yet, a signature that does not match the cached secret (checked again against the database, then
counted), and the whole store on a database other than PostgreSQL.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import weakref
from datetime import UTC, datetime

import psycopg
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from django.utils.translation import gettext as _

from lineapi import signature

from . import intake
from .intake import GROUP_MAX_BYTES, GROUP_MAX_POSTS, GROUP_WAIT_SECONDS, Post, Rejected, unavailable
from .wsgi import _PATH, hsts

log = logging.getLogger(__name__)
request_log = logging.getLogger("django.request")


# A second statement may be in flight while the first commits, but only for a backlog of this many bytes of
# events: with large bodies (100 events a POST) PostgreSQL's work grows with the events and one statement
# at a time left a core idle; with small ones a commit's fixed cost dominates, and one larger statement
# costs less than two.
PIPELINE_BYTES = getattr(settings, "LINE_WEBHOOK_PIPELINE_BYTES", 256 * 1024)
WRITERS = 2


class AsyncGroupCommit:
    """The POSTs of one event loop waiting on the database, written a batch a statement.

    A POST appends itself and awaits its future. A write starts one pass of the loop later, so every
    request the loop has ready joins first, and takes what is waiting (GROUP_MAX_POSTS POSTs or
    GROUP_MAX_BYTES at most): an idle process writes a lone POST at once, a busy one all that arrived
    during the last commit. A second write runs beside the first only for a backlog of PIPELINE_BYTES
    or more, each on a connection of its own. If a statement fails for one POST's fault (a channel
    deleted meanwhile, a value the database refuses), each POST is written alone to find whose.
    """

    def __init__(self):
        self._waiting: list[tuple[Post, asyncio.Future]] = []
        self._waiting_bytes = 0
        self._writing: set[asyncio.Task] = set()
        self._scheduled = False
        self._idle: list[psycopg.AsyncConnection] = []  # the writers' connections not in use

    async def write(self, post: Post) -> None:
        """Return once ``post``'s rows are committed; raise Rejected when they cannot be."""
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        self._waiting.append((post, done))
        self._waiting_bytes += len(post.text)
        self._schedule(loop)
        try:
            await asyncio.wait_for(asyncio.shield(done), GROUP_WAIT_SECONDS)
        except TimeoutError:
            done.add_done_callback(_retrieved)  # answered already: what the writer sets later is not an error
            log.error("webhook group commit: no answer from the database in %.0f s", GROUP_WAIT_SECONDS)
            raise unavailable() from None

    async def close(self) -> None:
        """Write what is waiting, then close the writers' connections."""
        while self._waiting or self._writing:
            await asyncio.sleep(0.01)
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.close()

    def _schedule(self, loop) -> None:
        if not self._scheduled and self._waiting and self._may_start():
            self._scheduled = True
            loop.call_soon(self._start, loop)  # the requests the loop has ready join first

    def _may_start(self) -> bool:
        return not self._writing or (len(self._writing) < WRITERS and self._waiting_bytes >= PIPELINE_BYTES)

    def _start(self, loop) -> None:
        self._scheduled = False
        if not self._waiting or not self._may_start():
            return
        task = loop.create_task(self._write_batch(self._take()), name="webhook-group-commit")
        self._writing.add(task)
        task.add_done_callback(self._writing.discard)

    def _take(self) -> list[tuple[Post, asyncio.Future]]:
        size = 0
        for count, (post, _done) in enumerate(self._waiting, 1):
            size += len(post.text)
            if count >= GROUP_MAX_POSTS or size >= GROUP_MAX_BYTES:
                break
        else:
            count = len(self._waiting)
        batch, self._waiting = self._waiting[:count], self._waiting[count:]
        self._waiting_bytes -= size
        return batch

    async def _write_batch(self, batch) -> None:
        try:
            await self._write([post for post, _done in batch])
        except BaseException as exc:  # never leave a POST waiting on a write that is gone
            if isinstance(exc, psycopg.Error):
                log.error("webhook group commit failed: %s", type(exc).__name__)
                exc = unavailable()
            elif isinstance(exc, Exception):
                log.exception("webhook group commit failed")
            for _post, done in batch:
                if not done.done():
                    done.set_exception(exc if isinstance(exc, Exception) else unavailable())
            if not isinstance(exc, Exception):
                raise
        else:
            for post, done in batch:
                if not done.done():
                    if post.error is None:
                        done.set_result(None)
                    else:
                        done.set_exception(post.error)
        finally:
            self._writing.discard(asyncio.current_task())
            self._schedule(asyncio.get_running_loop())

    async def _write(self, posts: list[Post]) -> None:
        slot = [self._idle.pop() if self._idle else None]  # the connection this write uses
        try:
            try:
                await self._insert(slot, posts)
            except (psycopg.errors.IntegrityError, psycopg.errors.DataError) as exc:
                if len(posts) == 1:
                    posts[0].error = _refusal(exc)
                    return
                for post in posts:  # whose fault it was; the others are written
                    try:
                        await self._insert(slot, [post])
                    except (psycopg.errors.IntegrityError, psycopg.errors.DataError) as alone:
                        post.error = _refusal(alone)
        finally:
            if slot[0] is not None and not slot[0].closed:
                self._idle.append(slot[0])

    async def _insert(self, slot: list, posts: list[Post]) -> None:
        """Write ``posts`` on ``slot[0]``, connecting (again) when there is none or it broke."""
        params = [
            intake.WebhookEvent.Status.PENDING.value,
            datetime.now(tz=UTC),
            [post.channel_pk for post in posts],
            [post.text for post in posts],
        ]
        for attempt in (1, 2):
            try:
                if slot[0] is None or slot[0].closed:
                    slot[0] = await _connect()
                await slot[0].execute(intake._INSERT, params, prepare=True)
                return
            except psycopg.OperationalError:
                # The statement is idempotent: sent again on a new connection, a first attempt that did
                # commit before the connection broke makes the second insert nothing.
                if slot[0] is not None:
                    await slot[0].close()
                    slot[0] = None
                if attempt == 2:
                    raise
                log.warning("webhook insert: database connection broken; retrying once on a new one")


async def _connect() -> psycopg.AsyncConnection:
    """A connection for the writers, with Django's settings for the default database."""
    params = connections["default"].get_connection_params()
    params.pop("cursor_factory", None)  # Django's client-side binding cursor is synchronous
    params.update(autocommit=True, prepare_threshold=0)
    conn = await psycopg.AsyncConnection.connect(**params)
    # See intake.WriterStatement: the same plan whatever the number of POSTs, planned once.
    await conn.execute("SET plan_cache_mode = force_generic_plan")
    return conn


def _refusal(exc: Exception) -> Rejected:
    if isinstance(exc, psycopg.errors.IntegrityError):
        return intake.channel_gone()
    log.error("webhook insert refused by the database: %s", type(exc).__name__)
    return intake.unstorable_value()


def _retrieved(future: asyncio.Future) -> None:
    if not future.cancelled():
        future.exception()


_commits: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncGroupCommit] = weakref.WeakKeyDictionary()


def group_commit() -> AsyncGroupCommit:
    """The running event loop's group commit (a process serves from one loop; tests run several)."""
    loop = asyncio.get_running_loop()
    commit = _commits.get(loop)
    if commit is None:
        commit = _commits[loop] = AsyncGroupCommit()
    return commit


@functools.cache
def _on_postgresql() -> bool:
    # Read once: on the loop, connections["default"] would build a new, unconnected wrapper for each
    # request (Django keeps connections per asyncio context there).
    return connections["default"].vendor == "postgresql"


def _in_thread(function, *args):
    """Run ``function`` in a worker thread, off the loop. The thread's database connection is closed after
    (given back, from a pool): the loop's threads come and go, and this is the rare path (a channel not
    cached yet, a signature that does not match the cached secret, a database other than PostgreSQL)."""

    def call():
        try:
            return function(*args)
        finally:
            connections.close_all()

    return sync_to_async(call, thread_sensitive=False)()


async def receive(channel_id: str, content_length, read, header: str | None) -> intake.Accepted:
    """intake.receive on the event loop: returns once the rows are committed, or raises Rejected.

    ``read(length)`` is a coroutine function returning the body; awaited only once the size is acceptable.
    """
    channel = intake.cached_channel(channel_id)
    if channel is None:
        channel = await _in_thread(intake.channel_for, channel_id)
        if channel is None:
            raise Rejected(404, _("This channel does not exist."))
    body = await read(intake.check_size(content_length))
    if not signature.verify(channel.channel_secret, body, header):  # a changed secret, or a forgery
        channel = await _in_thread(intake.check_signature, channel, body, header)
    if not _on_postgresql() or intake._task().app.conf.task_always_eager:
        return await _in_thread(intake.store, channel, intake.parse(channel, body), body)
    # The parsed events are freed before the POST waits: only the text is written (see intake.prepare).
    prepared = intake.prepare(intake.parse(channel, body), body)
    if prepared is None:
        return intake.Accepted(0, ())
    sources, received, text = prepared
    await group_commit().write(Post(channel.pk, text))
    intake.publisher.add(channel.pk, sources)
    return intake.Accepted(received, sources)


async def read_body(receive_message, limit: int) -> bytes:
    """The request body, at most ``limit`` bytes (the Content-Length intake accepted)."""
    chunks, size = [], 0
    while True:
        message = await receive_message()
        if message["type"] == "http.disconnect":
            raise Rejected(400, _("The client went away before the body arrived."))
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise Rejected(400, _("The body is longer than its Content-Length."))
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def channel_id_of(scope) -> str | None:
    """The channel ID of a webhook POST this application answers; None for anything the site should."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    match = _PATH.fullmatch(scope["path"])
    if match is None or (settings.SECURE_SSL_REDIRECT and not is_secure(scope)):
        return None
    return match[1]


def _header(scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def is_secure(scope) -> bool:
    """What HttpRequest.is_secure() answers: the proxy's header when SECURE_PROXY_SSL_HEADER names one."""
    if settings.SECURE_PROXY_SSL_HEADER:
        header, secure_value = settings.SECURE_PROXY_SSL_HEADER
        value = _header(scope, header.removeprefix("HTTP_").lower().replace("_", "-").encode("latin-1"))
        if value is not None:
            return value.split(",", 1)[0].strip() == secure_value
    return scope.get("scheme") == "https"


async def application(scope, receive_message, send, channel_id: str) -> None:
    try:
        await receive(
            channel_id,
            _header(scope, b"content-length"),
            lambda limit: read_body(receive_message, limit) if limit > 0 else _empty(),
            _header(scope, b"x-line-signature"),
        )
        status, body = 200, b"{}"
    except Rejected as exc:
        status, body = exc.status, json.dumps({"message": str(exc.reason)}, ensure_ascii=False).encode()
    except Exception:
        request_log.exception("Internal Server Error: %s", scope["path"], extra={"status_code": 500})
        status, body = 500, json.dumps({"message": _("Server error.")}, ensure_ascii=False).encode()
    response_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        response_headers.append((b"x-content-type-options", b"nosniff"))
    if settings.SECURE_HSTS_SECONDS and is_secure(scope):
        response_headers.append((b"strict-transport-security", hsts().encode()))
    await send({"type": "http.response.start", "status": status, "headers": response_headers})
    await send({"type": "http.response.body", "body": body})


async def _empty() -> bytes:
    return b""
