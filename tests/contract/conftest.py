"""Fixtures for the linesim contract suite: a registered channel, official-SDK clients, and a
tiny local HTTP server that receives the simulator's webhooks."""

from __future__ import annotations

import itertools
import json
import queue
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from linebot.v3.messaging import ApiClient, Configuration, MessagingApi, MessagingApiBlob

# linesim.testing (the linesim / linesim_server fixtures) is loaded by the root conftest or
# by `-p linesim.testing` on the command line.

_channel_ids = itertools.count(2000000001)


class WebhookReceiver:
    """Collects (headers, raw body) of every POST and answers ``status`` (200 by default)."""

    def __init__(self):
        self.received: queue.Queue = queue.Queue()
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.received.put((dict(self.headers), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"OK")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next(self, timeout: float = 5.0) -> tuple[dict, bytes]:
        return self.received.get(timeout=timeout)

    def next_json(self, timeout: float = 5.0) -> dict:
        return json.loads(self.next(timeout)[1])

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def webhook_receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def receiver(webhook_receiver):
    """The session's receiver with its queue emptied and status back to 200."""
    while not webhook_receiver.received.empty():
        webhook_receiver.received.get_nowait()
    webhook_receiver.status = 200
    return webhook_receiver


@pytest.fixture
def channel(linesim, receiver):
    """A freshly registered channel (unique id per test) whose webhooks go to ``receiver``."""
    cid = str(next(_channel_ids))
    return linesim.register_channel(cid, f"secret-{cid}", f"token-{cid}", receiver.url, displayName="Contract Shop")


@pytest.fixture
def user(linesim, channel):
    user = linesim.add_user(channel["channelId"], "Alice", language="en")
    linesim.act(channel["channelId"], user["userId"], "follow")
    return user


@pytest.fixture
def api_client(linesim, channel):
    config = Configuration(host=linesim.base_url, access_token=channel["accessToken"])
    with ApiClient(config) as client:
        yield client


@pytest.fixture
def api(api_client) -> MessagingApi:
    return MessagingApi(api_client)


@pytest.fixture
def blob_api(api_client) -> MessagingApiBlob:
    return MessagingApiBlob(api_client)
