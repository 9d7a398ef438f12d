"""Keep-alive HTTP/1.1 for the hot send calls: one connection per thread and host, on the standard library.

requests costs ~400 us of CPU per call on top of what the bytes cost (preparing and merging the request,
cookies, the netrc lookup, its adapter and urllib3's pool), which at LINE's 2,000 pushes/s is most of a CPU
core. A send (reply, push, multicast, broadcast, narrowcast) is one small JSON POST to a fixed host, so this
path writes it itself, request line, headers and body in one ``sendall`` (one TCP segment for LINE to read,
where ``http.client`` sends the body apart), and reads the answer with ``http.client.HTTPResponse`` (status,
headers, Content-Length or chunked bodies). About a quarter of the CPU of requests (bench/fanout.py), with
what requests would do kept: the User-Agent, ``(connect, read)`` timeouts, TLS verified against the CA bundle
requests would use (REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE or certifi), no retry and no redirect of its own, a
header or path that could split the request refused, and an idle connection the server closed noticed
before it is reused (never by resending). A host that the environment routes through a proxy, or that needs
a client certificate, keeps going through the requests session.

Errors surface as the socket's or http.client's own exceptions (a failed connect as ``ConnectFailed`` around
its cause); ``_transport.perform`` classifies them exactly like requests' ones.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import select
import socket
import ssl
import threading
import weakref
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import requests
from requests.utils import DEFAULT_CA_BUNDLE_PATH, select_proxy

from ._transport import USER_AGENT, ConnectFailed, Timeout, timeout_part

# Control characters (CR and LF above all) in a path or header would let a value start a header or a request
# of its own; http.client refuses them too.
_UNSAFE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_UNSAFE_PATH = re.compile(r"[\x00-\x20\x7f]")


class Route(NamedTuple):
    host: str
    port: int
    host_header: str
    tls: ssl.SSLContext | None


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
        self._routes: dict[str, Route | None] = {}
        # Every thread's sockets, so close() reaches them; weak, so a thread that ends takes its own along.
        self._open: weakref.WeakSet[socket.socket] = weakref.WeakSet()

    def serves(self, base: str) -> bool:
        """True when requests to ``base`` (scheme://host[:port]) go through this path."""
        if base not in self._routes:
            self._routes[base] = self._route(base)
        return self._routes[base] is not None

    def _route(self, base: str) -> Route | None:
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/"):
            return None
        settings = self._session.merge_environment_settings(base + "/", {}, False, None, None)
        if settings.get("cert") or select_proxy(base + "/", settings.get("proxies") or {}):
            return None
        default = 80 if parts.scheme == "http" else 443
        port = parts.port or default
        name = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        host_header = name if port == default else f"{name}:{port}"
        tls = _tls_context(settings.get("verify", True)) if parts.scheme == "https" else None
        return Route(parts.hostname, port, host_header, tls)

    def request(
        self, method: str, base: str, path: str, *, headers: dict[str, str], body: bytes | None, timeout: Timeout
    ) -> Reply:
        """Send one request on this thread's connection to ``base`` and read the whole answer."""
        route = self._routes[base]
        assert route is not None, "request() called for a host this path does not serve"
        data = _request_bytes(method, path, route.host_header, headers, body)
        socks = self._local.__dict__.get("socks")
        if socks is None:
            socks = self._local.socks = _ThreadSockets()
        sock = socks.pop(base, None)
        if sock is not None and _dropped(sock):
            self._forget(sock)
            sock = None
        if sock is None:
            sock = self._connect(route, timeout_part(timeout, 0))
        response = None
        try:
            sock.settimeout(timeout_part(timeout, 1))
            sock.sendall(data)
            response = http.client.HTTPResponse(sock, method=method)
            response.begin()
            content = response.read()
        except BaseException:
            if response is not None:
                response.close()  # its reader holds the socket open
            self._forget(sock)  # a half-sent request or half-read answer leaves the connection unusable
            raise
        if response.will_close:
            self._forget(sock)
        else:
            socks[base] = sock
        return Reply(response.status, response.reason, response.msg, content)

    def _connect(self, route: Route, timeout: float | None) -> socket.socket:
        try:
            sock = socket.create_connection((route.host, route.port), timeout)
        except OSError as exc:
            raise ConnectFailed(str(exc)) from exc
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if route.tls is not None:
                sock = route.tls.wrap_socket(sock, server_hostname=route.host)  # handshake within the timeout
        except OSError as exc:
            sock.close()
            raise ConnectFailed(str(exc)) from exc
        with self._lock:
            self._open.add(sock)
        return sock

    def _forget(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)
        sock.close()

    def close(self) -> None:
        """Close every thread's connections (a thread that sends again opens a new one)."""
        with self._lock:
            socks, self._open = list(self._open), weakref.WeakSet()
        for sock in socks:
            sock.close()
        self._local = threading.local()


class _ThreadSockets(dict[str, socket.socket]):
    """One thread's idle connections by host. Senders start threads per task: when a thread ends, its
    thread-local data goes and the connections are closed here (not left open until the client goes)."""

    def __del__(self) -> None:
        for sock in self.values():
            sock.close()


def _request_bytes(method: str, path: str, host: str, headers: dict[str, str], body: bytes | None) -> bytes:
    if _UNSAFE_PATH.search(path):
        raise http.client.InvalidURL(f"can't send a path with control characters or spaces ({path!r})")
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"User-Agent: {USER_AGENT}", "Accept-Encoding: identity"]
    lines.append(f"Content-Length: {len(body) if body is not None else 0}")
    for name, value in headers.items():
        if _UNSAFE.search(name) or _UNSAFE.search(value) or ":" in name:
            raise ValueError(f"invalid header {name!r}")  # the value is not shown: it may be the token
        lines.append(f"{name}: {value}")
    lines += ["", ""]
    head = "\r\n".join(lines).encode("latin-1")
    return head + body if body else head


def _dropped(sock: socket.socket) -> bool:
    """An idle keep-alive socket that is readable was closed by the server (or holds stray bytes)."""
    if sock.fileno() < 0:
        return True
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
