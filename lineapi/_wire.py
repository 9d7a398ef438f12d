"""Keep-alive HTTP/1.1 for the hot send calls: one connection per thread and host, on the standard library.

requests costs ~400 us of CPU per call on top of what the bytes cost (preparing and merging the request,
cookies, the netrc lookup, its adapter and urllib3's pool), which at LINE's 2,000 pushes/s is most of a CPU
core. A send (reply, push, multicast, broadcast, narrowcast) is one small JSON POST to a fixed host, so
``http.client`` carries it directly: about a third of the CPU (bench/fanout.py), with what requests would do
kept: the User-Agent, ``(connect, read)`` timeouts, TLS verified against the CA bundle requests would use
(REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE or certifi), no retry and no redirect of its own, an idle connection
the server closed is noticed before it is reused (never by resending). A host that the environment routes
through a proxy, or that needs a client certificate, keeps going through the requests session.

Errors surface as the socket's or http.client's own exceptions (a failed connect as :class:`ConnectFailed`
around its cause); ``_transport.perform`` classifies them exactly like requests' ones.
"""

from __future__ import annotations

import http.client
import json
import os
import select
import ssl
import threading
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.utils import DEFAULT_CA_BUNDLE_PATH, select_proxy

from ._transport import USER_AGENT, ConnectFailed, Timeout

_Connection = http.client.HTTPConnection


class Reply:
    """The parts of a ``requests.Response`` that lineapi reads, for an answer read in full."""

    __slots__ = ("status_code", "reason", "headers", "content")

    def __init__(self, status: int, reason: str, headers: http.client.HTTPMessage, content: bytes) -> None:
        self.status_code, self.reason, self.headers, self.content = status, reason, headers, content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)

    def close(self) -> None:
        """Nothing to release: the body was read and the connection stays open for the next call."""


class Wire:
    """Per-thread keep-alive connections to the hosts a client sends to.

    ``session`` is the client's requests session: its environment settings (proxies, CA bundle, client
    certificate) decide, once per host, whether a request may take this path and how TLS is verified.
    """

    def __init__(self, session: requests.Session) -> None:
        self._session = session
        self._local = threading.local()
        self._lock = threading.Lock()
        self._hosts: dict[str, tuple[str, str, int, ssl.SSLContext | None] | None] = {}
        self._open: set[_Connection] = set()  # every connection of every thread, so close() reaches them

    def serves(self, base: str) -> bool:
        """True when requests to ``base`` (scheme://host[:port]) go through this path."""
        if base not in self._hosts:
            self._hosts[base] = self._route(base)
        return self._hosts[base] is not None

    def _route(self, base: str) -> tuple[str, str, int, ssl.SSLContext | None] | None:
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/"):
            return None
        settings = self._session.merge_environment_settings(base + "/", {}, False, None, None)
        if settings.get("cert") or select_proxy(base + "/", settings.get("proxies") or {}):
            return None
        if parts.scheme == "http":
            return "http", parts.hostname, parts.port or 80, None
        return "https", parts.hostname, parts.port or 443, _tls_context(settings.get("verify", True))

    def request(
        self, method: str, base: str, path: str, *, headers: dict[str, str], body: bytes | None, timeout: Timeout
    ) -> Reply:
        """Send one request on this thread's connection to ``base`` and read the whole answer."""
        conn = self._connection(base)
        try:
            if conn.sock is None or _dropped(conn.sock):
                self._connect(conn, _seconds(timeout, 0))
            conn.sock.settimeout(_seconds(timeout, 1))
            conn.request(method, path, body, {"User-Agent": USER_AGENT, **headers})
            response = conn.getresponse()
            content = response.read()
        except BaseException:
            conn.close()  # a half-sent request or half-read answer leaves the connection unusable
            raise
        if response.will_close:
            conn.close()
        return Reply(response.status, response.reason, response.msg, content)

    def _connection(self, base: str) -> _Connection:
        conns: dict[str, _Connection] = self._local.__dict__.setdefault("conns", {})
        conn = conns.get(base)
        if conn is None:
            route = self._hosts[base]
            assert route is not None, "request() called for a host this path does not serve"
            scheme, host, port, context = route
            if scheme == "https":
                conn = http.client.HTTPSConnection(host, port, context=context)
            else:
                conn = http.client.HTTPConnection(host, port)
            conns[base] = conn
            with self._lock:
                self._open.add(conn)
        return conn

    @staticmethod
    def _connect(conn: _Connection, timeout: float | None) -> None:
        conn.close()
        conn.timeout = timeout
        try:
            conn.connect()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise ConnectFailed(str(exc)) from exc

    def close(self) -> None:
        """Close every thread's connections (a thread that sends again opens a new one)."""
        with self._lock:
            conns, self._open = list(self._open), set()
        for conn in conns:
            conn.close()
        self._local = threading.local()


def _seconds(timeout: Timeout | None, index: int) -> float | None:
    if timeout is None:
        return None
    return timeout[index] if isinstance(timeout, tuple) else timeout


def _dropped(sock: Any) -> bool:
    """An idle keep-alive socket that is readable was closed by the server (or holds stray bytes)."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


def _tls_context(verify: bool | str | None) -> ssl.SSLContext:
    """Verify certificates and host names like requests: its CA bundle, or the one the environment names."""
    where = verify if isinstance(verify, str) else DEFAULT_CA_BUNDLE_PATH
    if os.path.isdir(where):
        context = ssl.create_default_context(capath=where)
    else:
        context = ssl.create_default_context(cafile=where)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context
