"""HTTP plumbing shared by the client and the token functions.

One function, :func:`perform`, sends a request, logs it, and turns every failure
(HTTP status or network) into :class:`~lineapi.errors.LineAPIError`. Nothing here
retries: a retry is the caller's decision, made with the same retry key. Requests
go through a requests session, or through a ``_wire.Wire`` (the lean path of the
sends) when one is given and serves the host.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import time
from collections.abc import Collection, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .errors import Kind, LineAPIError

logger = logging.getLogger("lineapi")

USER_AGENT = "lineapi/1.0 (LINE OA Console)"

Timeout = float | tuple[float, float]
DEFAULT_TIMEOUT: tuple[float, float] = (3.05, 15.0)

# requests puts the URL (query string included) into its exception texts; the only
# secret we ever put in a URL is a token being verified, but strip every query.
_QUERY_RE = re.compile(r"\?[^\s'\")]*")
_TOKEN_PARAM_RE = re.compile(r"(access_token|client_secret)=[^&\s\"']+")


class _RedactTokenParams(logging.Filter):
    """urllib3 logs each request line at DEBUG, query string included; token
    verification puts the token in the query (LINE's GET /oauth2/v2.1/verify)."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if "access_token=" in text or "client_secret=" in text:
            record.msg = _TOKEN_PARAM_RE.sub(r"\1=***", text)
            record.args = ()
        return True


class ConnectFailed(Exception):
    """The lean path (``_wire``) could not open a connection; the cause is the socket-level error."""


# What the lean path raises: a failed connect, socket errors (timeouts included), http.client's protocol
# errors, and ValueError for a header or URL it refuses to send.
_LEAN_FAILURES = (ConnectFailed, OSError, http.client.HTTPException, ValueError)

_urllib3_log = logging.getLogger("urllib3.connectionpool")
if not any(isinstance(f, _RedactTokenParams) for f in _urllib3_log.filters):
    _urllib3_log.addFilter(_RedactTokenParams())


def make_session(*, pool_maxsize: int = 32) -> requests.Session:
    """A keep-alive session whose adapters never retry on their own."""
    session = requests.Session()
    # total=0: urllib3 must not resend anything. A resent push without our say-so
    # is exactly the duplicate the retry key exists to prevent.
    retry = Retry(total=0, connect=0, read=False, redirect=False, status=0, raise_on_status=False)
    adapter = HTTPAdapter(
        pool_connections=4,  # api.line.me, api-data.line.me, plus room for test hosts
        pool_maxsize=pool_maxsize,
        max_retries=retry,
    )
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    session.merge_environment_settings = _environment_once_per_host(session.merge_environment_settings)  # type: ignore[method-assign]
    return session


def _environment_once_per_host(merge):
    """requests reads the proxy variables (HTTP(S)_PROXY, NO_PROXY, ...) from the environment on every call,
    about a fifth of a push's CPU in bench/fanout.py; they only change with the process's environment, so
    the answer is kept per scheme and host (same proxies, same NO_PROXY rules, read once)."""
    cache: dict = {}

    def merged(url, proxies, stream, verify, cert):
        if proxies:
            return merge(url, proxies, stream, verify, cert)
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc, stream, verify, cert)
        if key not in cache:
            cache[key] = merge(url, proxies, stream, verify, cert)
        settings = cache[key]
        return {**settings, "proxies": dict(settings["proxies"])}

    return merged


def encode_json(body: Any) -> bytes:
    """Compact UTF-8 JSON: smaller bodies against LINE's 2 MB cap."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def perform(
    session: requests.Session,
    method: str,
    base: str,
    path: str,
    *,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, Any] | None = None,
    data: bytes | Mapping[str, str] | None = None,
    timeout: Timeout = DEFAULT_TIMEOUT,
    ok: Collection[int] = (200,),
    stream: bool = False,
    secrets: Iterable[str] = (),
    wire: Any = None,
) -> requests.Response:
    """Send one request; return the response if its status is in ``ok``.

    Any other status, and any network failure, raises LineAPIError. ``secrets``
    are scrubbed from any text that could reach an exception message. With a
    ``wire`` that serves ``base``, a request without query or streaming goes
    through it (its answer reads like a requests.Response).
    """
    started = time.monotonic()
    lean = wire is not None and not params and not stream and wire.serves(base)
    failures: tuple[type[BaseException], ...] = _LEAN_FAILURES if lean else (requests.RequestException,)
    try:
        if lean:
            response = wire.request(method, base, path, headers=dict(headers or {}), body=data, timeout=timeout)
        else:
            response = session.request(
                method,
                base.rstrip("/") + path,
                headers=dict(headers or {}),
                params=params,
                data=data,
                timeout=timeout,
                stream=stream,
                allow_redirects=False,
            )
    except failures as exc:
        elapsed = (time.monotonic() - started) * 1000
        error = network_error(exc, method=method, path=path, timeout=timeout, secrets=secrets)
        logger.debug("LINE %s %s -> %s after %.0f ms (%s)", method, path, error.kind, elapsed, error.message)
        raise error from None
    elapsed = (time.monotonic() - started) * 1000
    request_id = response.headers.get("x-line-request-id")
    logger.debug(
        "LINE %s %s -> %s request_id=%s %.0f ms",
        method,
        path,
        response.status_code,
        request_id,
        elapsed,
    )
    if response.status_code in ok:
        return response
    raise response_error(response, method=method, path=path)


def response_error(response: requests.Response, *, method: str, path: str) -> LineAPIError:
    """Build the LineAPIError for a non-success response (LINE or OAuth error shape)."""
    body = _json_or_none(response)
    message = ""
    details: list[Mapping[str, Any]] = []
    if isinstance(body, Mapping):
        if isinstance(body.get("message"), str):
            message = body["message"]
        elif isinstance(body.get("error"), str):  # OAuth endpoints
            message = body["error"]
            if body.get("error_description"):
                message += f": {body['error_description']}"
        raw_details = body.get("details")
        if isinstance(raw_details, list):
            details = [d for d in raw_details if isinstance(d, Mapping)]
    if not message:
        snippet = " ".join((response.text or "").split())[:200]
        message = snippet or (response.reason or f"HTTP {response.status_code}")
    error = LineAPIError.from_status(
        response.status_code,
        message,
        details=details,
        request_id=response.headers.get("x-line-request-id"),
        accepted_request_id=response.headers.get("x-line-accepted-request-id"),
        method=method,
        path=path,
        retry_after=_retry_after(response.headers.get("Retry-After")),
    )
    if isinstance(body, Mapping) and body.get("error") in ("invalid_client", "unauthorized_client"):
        # OAuth says "bad credentials" with a 400; the caller needs to see it as auth.
        error.kind = "auth"
    response.close()
    return error


def network_error(
    exc: BaseException,
    *,
    method: str,
    path: str,
    timeout: Timeout | None = None,
    secrets: Iterable[str] = (),
) -> LineAPIError:
    """Classify a requests or lean-path exception: timeouts and broken connections are retryable."""
    kind: Kind
    retryable = True
    connecting = isinstance(exc, ConnectFailed)
    cause = exc.__cause__ if connecting and exc.__cause__ is not None else exc
    if isinstance(exc, requests.ConnectTimeout) or (connecting and isinstance(cause, TimeoutError)):
        kind, what = "timeout", f"connect timed out after {_part(timeout, 0)}s"
    elif isinstance(exc, (requests.Timeout, TimeoutError)):
        kind, what = "timeout", f"read timed out after {_part(timeout, 1)}s"
    elif _invalid_request(exc):
        kind, what, retryable = "client", "invalid request", False
    else:
        kind, what = "connection", "connection failed"
    reason = _scrub(_root_reason(exc), secrets)
    return LineAPIError(
        kind,
        f"{what} ({reason})" if reason else what,
        status=None,
        retryable=retryable,
        method=method,
        path=path,
    )


def _invalid_request(exc: BaseException) -> bool:
    """A request that could never be sent: a bad URL or header value (requests' own errors, or the lean
    path's ValueError; TLS verification errors are ValueErrors too, but they are connection failures)."""
    invalid = (
        requests.exceptions.InvalidURL,
        requests.exceptions.MissingSchema,
        requests.exceptions.InvalidSchema,
        requests.exceptions.InvalidHeader,
    )
    return isinstance(exc, invalid) or (isinstance(exc, ValueError) and not isinstance(exc, OSError))


def json_body(response: requests.Response, *, method: str, path: str) -> Any:
    """Parse a success body; a 2xx with broken JSON is LINE's fault and retryable."""
    if not response.content:
        return {}
    body = _json_or_none(response)
    if body is None:
        raise LineAPIError(
            "server",
            "LINE returned a success status with a body that is not JSON",
            status=response.status_code,
            request_id=response.headers.get("x-line-request-id"),
            retryable=True,
            method=method,
            path=path,
        )
    return body


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # HTTP-date form: LINE does not use it; ignore rather than guess


def timeout_part(timeout: Timeout | None, index: int) -> float | None:
    """The connect (0) or read (1) timeout of a requests-style timeout: one number or a pair."""
    if timeout is None:
        return None
    return timeout[index] if isinstance(timeout, tuple) else timeout


def _part(timeout: Timeout | None, index: int) -> float | str:
    seconds = timeout_part(timeout, index)
    return "?" if seconds is None else seconds


def _root_reason(exc: BaseException) -> str:
    """Describe the innermost cause, e.g. "RemoteDisconnected: Remote end closed ...".

    Outer exceptions (requests', urllib3's) repeat the URL; the innermost one is
    the socket-level reason and is what an operator needs.
    """
    seen: set[int] = set()
    current: BaseException = exc
    while id(current) not in seen:
        seen.add(id(current))
        nxt = _inner(current)
        if nxt is None:
            break
        current = nxt
    text = str(current)
    return f"{type(current).__name__}: {text}"[:200] if text else type(current).__name__


def _inner(exc: BaseException) -> BaseException | None:
    reason = getattr(exc, "reason", None)
    if isinstance(reason, BaseException):
        return reason
    for arg in exc.args:
        if isinstance(arg, BaseException):
            return arg
    return exc.__cause__ or exc.__context__


def _scrub(text: str, secrets: Iterable[str]) -> str:
    text = _QUERY_RE.sub("?…", text)
    for secret in secrets:
        if len(secret) >= 8:  # real tokens and secrets are long; a short one would mangle text
            text = text.replace(secret, "***")
    return text
