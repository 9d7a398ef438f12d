"""Plumbing shared by every LINE API endpoint: auth, faults, rate limits, retry keys, bodies.

``line_api`` wraps a handler ``async def handler(request, sim, channel)``; the outer ASGI
middleware ``LineMiddleware`` stamps every response with ``x-line-request-id``, counts
statuses for /_sim/ledger/summary, and carries out "drop" faults.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from . import ids
from .errors import (
    AUTH_FAILED,
    INTERNAL_ERROR,
    MONTHLY_LIMIT,
    NOT_PARSABLE,
    RATE_LIMITED,
    RETRY_KEY_ACCEPTED,
    RETRY_KEY_UNSUPPORTED,
    TOO_LARGE,
    LineError,
)

MAX_BODY = 2 * 1024 * 1024  # LINE answers 413 above 2 MB
RETRY_KEY_HEADER = "x-line-retry-key"
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
REQUEST_ID = "linesim.request_id"
DROP = "linesim.drop"


def sim_of(request: Request):
    return request.app.state.sim


def request_id(request: Request) -> str:
    return request.scope[REQUEST_ID]


def line_api(name: str, *, limit: str | None = None, auth: bool = True, retry_key: bool = False):
    """Decorate a LINE API handler.

    ``name`` is the endpoint name used by faults (and by default by rate limits);
    ``limit`` picks a rate-limit bucket (see ratelimit.LIMITS) when it differs from name.
    """

    def decorate(handler):
        @functools.wraps(handler)
        async def endpoint(request: Request):
            sim = sim_of(request)
            try:
                channel = authenticate(sim, request) if auth else None
                key = retry_key_of(request, supported=retry_key)
                await apply_faults(sim, request, name)
                if (
                    channel is not None
                    and sim.rate_limited(channel)
                    and not sim.limiter.take(channel.channel_id, limit or name)
                ):
                    raise LineError(429, RATE_LIMITED)
                if key is not None and channel is not None:
                    refuse_accepted_retry(sim, channel, key)
                return await handler(request, sim, channel)
            except LineError as err:
                return err.response()
            except ClientDisconnect:
                # The caller hung up before its body arrived (a timeout, a killed worker): LINE would
                # simply drop such a request, so there is nothing to record and no one to answer.
                return Response(status_code=499)

        endpoint.line_endpoint = name
        return endpoint

    return decorate


def authenticate(sim, request: Request):
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    channel = sim.channel_for_token(token.strip()) if scheme.lower() == "bearer" else None
    if channel is None:
        raise LineError(401, AUTH_FAILED)
    return channel


def retry_key_of(request: Request, *, supported: bool) -> str | None:
    key = request.headers.get(RETRY_KEY_HEADER)
    if key is None:
        return None
    if not supported:
        raise LineError(400, RETRY_KEY_UNSUPPORTED)
    if not UUID.match(key):
        raise LineError(400, "The value for the 'X-Line-Retry-Key' header is invalid")
    return key.lower()


def refuse_accepted_retry(sim, channel, key: str) -> None:
    """409 when this channel already had a request accepted with this key (within 24 h)."""
    record = sim.ledger.accepted_retry(channel.channel_id, key)
    if record is None:
        return
    body = {"message": RETRY_KEY_ACCEPTED}
    if record.endpoint == "push":
        body["sentMessages"] = record.sent_messages()
    raise LineError(409, body=body, headers={"x-line-accepted-request-id": record.request_id})


async def apply_faults(sim, request: Request, name: str) -> None:
    latency_ms, fault = sim.faults.pick(name)
    if latency_ms:
        await asyncio.sleep(latency_ms / 1000)
    if fault is None:
        return
    if fault.kind == "drop":
        request.scope[DROP] = True  # handled normally, then the response is never sent
    elif fault.kind == "429":
        raise LineError(429, RATE_LIMITED)
    elif fault.kind == "429-quota":
        raise LineError(429, MONTHLY_LIMIT)
    elif fault.kind != "latency":
        raise LineError(int(fault.kind), INTERNAL_ERROR)


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise LineError(413, TOO_LARGE)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise LineError(413, TOO_LARGE)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, *, empty_ok: bool = False) -> tuple[bytes, dict]:
    raw = await read_body(request)
    if empty_ok and not raw.strip():
        return raw, {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise LineError(400, NOT_PARSABLE) from None
    if not isinstance(data, dict):
        raise LineError(400, NOT_PARSABLE)
    return raw, data


class LineMiddleware:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware at thousands of requests/s).

    ``hot`` maps exact paths to ``line_api`` handlers that are called straight from here (a POST only):
    the sends benchmarks make by the hundred thousand skip Starlette's middleware and route search, about a
    tenth of linesim's CPU per push. Their answers are the same: ``line_api`` answers every LineError and
    a disconnect itself, and anything else goes to ``on_error``, the app's own handler of unexpected errors.
    """

    def __init__(self, app, sim, hot: dict | None = None, on_error=None):
        self.app = app
        self.sim = sim
        self.hot = hot or {}
        self.on_error = on_error

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        rid = ids.request_id()
        scope[REQUEST_ID] = rid
        counted = not scope["path"].startswith("/_sim")
        state = {"dropped": False}

        async def send_wrapper(message):
            if state["dropped"]:
                return
            if message["type"] == "http.response.start":
                if scope.get(DROP):
                    state["dropped"] = True
                    self.sim.ledger.dropped += 1
                    await abort_connection(send)
                    return
                message["headers"] = list(message.get("headers", [])) + [(b"x-line-request-id", rid.encode())]
                if counted:
                    self.sim.ledger.statuses[message["status"]] += 1
            await send(message)

        handler = self.hot.get(scope["path"]) if scope["method"] == "POST" else None
        if handler is None:
            await self.app(scope, receive, send_wrapper)
        else:
            await self.direct(handler, scope, receive, send_wrapper)

    async def direct(self, handler, scope, receive, send) -> None:
        scope["app"] = self.app  # what request.app (and so sim_of) reads
        request = Request(scope, receive, send)
        try:
            response = await handler(request)
        except Exception as exc:
            response = await self.on_error(request, exc)
        await response(scope, receive, send)


async def abort_connection(send) -> None:
    """Close the client's connection without a single byte of response.

    uvicorn's ``send`` is a bound method of its request cycle, which holds the transport.
    If that is not available (another server), fall back to sending a truncated response.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is not None:
        transport.abort()
        for _ in range(3):  # let connection_lost() run so uvicorn sends no 500
            await asyncio.sleep(0)
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]})
    raise ConnectionAbortedError("linesim dropped the response")
