"""The send endpoints are called straight from linesim's middleware (no route search): they must answer
exactly what the routed endpoints do, failures included. In-process, so a simulator bug can be staged."""

from __future__ import annotations

import asyncio
import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from linesim import messaging
from linesim.app import create_app
from linesim.errors import INTERNAL_ERROR
from tests.support import http_scope

TOKEN = "token-for-the-send-routes-test"
PUSH = {"to": "U" + "0" * 32, "messages": [{"type": "text", "text": "hello"}]}


def call(app, method: str, path: str, body: dict | None = None, token: str = TOKEN) -> tuple[int, dict, dict]:
    """One request through the ASGI app; returns (status, headers, JSON body)."""
    raw = json.dumps(body).encode() if body is not None else b""
    headers = [
        (b"authorization", f"Bearer {token}".encode()),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(raw)).encode()),
    ]
    if path.endswith("/push"):
        headers.append((b"x-line-retry-key", str(uuid.uuid4()).encode()))
    scope = http_scope(method, path, headers)
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message):
        sent.append(message)

    # A thread of its own: browser tests leave an event loop running in this one (Playwright's sync API).
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, app(scope, receive, send)).result()
    start, body_parts = sent[0], [m.get("body", b"") for m in sent[1:]]
    answer = b"".join(body_parts)
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, json.loads(answer or b"{}")


@pytest.fixture
def app():
    app = create_app()
    call(app, "POST", "/_sim/channels", {"channelId": "1999999999", "channelSecret": "s" * 32, "accessToken": TOKEN})
    return app


def test_a_push_is_answered_and_recorded_like_any_line_call(app) -> None:
    status, headers, body = call(app, "POST", "/v2/bot/message/push", PUSH)
    assert status == 200 and body["sentMessages"][0]["id"].isdigit()
    assert headers["x-line-request-id"]
    assert app.sim.ledger.summary()["byEndpoint"] == {"push": 1}


def test_a_send_with_a_wrong_token_or_a_bad_body_gets_lines_answer(app) -> None:
    assert call(app, "POST", "/v2/bot/message/push", PUSH, token="wrong")[0] == 401
    status, _headers, body = call(app, "POST", "/v2/bot/message/push", {"to": PUSH["to"], "messages": []})
    assert status == 400 and body["details"][0]["property"] == "messages"


def test_another_method_on_a_send_path_still_goes_through_the_router(app) -> None:
    assert call(app, "GET", "/v2/bot/message/push")[0] == 405


def test_a_simulator_bug_on_a_send_is_lines_500_and_is_counted(app, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(messaging, "validate_send", broken)
    status, headers, body = call(app, "POST", "/v2/bot/message/push", PUSH)
    assert (status, body) == (500, {"message": INTERNAL_ERROR})
    assert headers["x-line-request-id"]
    assert app.sim.ledger.summary()["byStatus"] == {"500": 1}
