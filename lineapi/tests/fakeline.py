"""A tiny scripted HTTP server standing in for LINE, on 127.0.0.1 with a free port."""

from __future__ import annotations

import json
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON; bytes -> as is; None -> "{}"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False  # read the request, then close the connection without answering
    hang_up: bool = False  # answer, then close the connection without a "Connection: close" header


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    client_port: int = 0  # tells the client's connections apart

    def json(self) -> Any:
        return json.loads(self.body)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    closed = 0  # connections this side has closed
    _closed_lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and hung up is expected here

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        with self._closed_lock:
            self.closed += 1


class FakeLine:
    """Answers each (method, path) with queued replies; the last one repeats."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[tuple[str, str], list[Reply]] = {}
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._counter = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                owner._handle(self)

            do_POST = do_PUT = do_DELETE = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        scheme = "https" if tls is not None else "http"
        self.base_url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()

    def on(self, method: str, path: str, *replies: Reply) -> None:
        self.routes[(method, path)] = list(replies)

    def requests_to(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    @staticmethod
    def _next(queue: list[Reply] | None) -> Reply:
        if not queue:
            return Reply(404, {"message": "Not found"})
        return queue.pop(0) if len(queue) > 1 else queue[0]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        with self._lock:
            self.seen.append(
                Seen(
                    handler.command,
                    url.path,
                    parse_qs(url.query),
                    {k.lower(): v for k, v in handler.headers.items()},
                    body,
                    handler.client_address[1],
                )
            )
            queue = self.routes.get((handler.command, url.path))
            reply = self._next(queue)
            self._counter += 1
            request_id = f"req-{self._counter:04d}"
        if reply.delay:
            time.sleep(reply.delay)
        if reply.drop:
            handler.close_connection = True
            return
        if isinstance(reply.body, bytes):
            payload = reply.body
            content_type = reply.headers.get("Content-Type", "application/octet-stream")
        else:
            payload = json.dumps({} if reply.body is None else reply.body).encode()
            content_type = "application/json"
        try:
            handler.send_response(reply.status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(payload)))
            handler.send_header("x-line-request-id", request_id)
            for name, value in reply.headers.items():
                if name != "Content-Type":
                    handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(payload)
            if reply.hang_up:
                handler.close_connection = True
        except OSError:
            pass  # the client gave up (a timeout test); nothing to answer


TOKEN = "tok-SECRET-abcdefghijklmnopqrstuvwxyz0123456789"
