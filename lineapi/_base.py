"""The part of LineClient that knows hosts, auth and the session; no endpoints."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from types import TracebackType
from typing import IO, Any, Self
from urllib.parse import quote

import requests

from . import _transport, _wire
from ._transport import DEFAULT_TIMEOUT, Timeout
from .errors import LineAPIError
from .results import Content

API_BASE = "https://api.line.me"
DATA_API_BASE = "https://api-data.line.me"

_CHUNK = 64 * 1024


def seg(value: str) -> str:
    """Quote one path segment, so an ID can never add path parts or a query."""
    if not isinstance(value, str) or not value:
        raise ValueError("an ID in a URL path must be a non-empty string")
    return quote(value, safe="")


def line_date(value: dt.date | str) -> str:
    """LINE's ``yyyyMMdd`` form of a date (LINE reads dates in UTC+9)."""
    if isinstance(value, dt.date):
        return value.strftime("%Y%m%d")
    if isinstance(value, str) and len(value) == 8 and value.isdigit():
        return value
    raise ValueError(f"a LINE date is yyyyMMdd, not {value!r}")


class _Answer(dict[str, Any]):
    """LINE's JSON answer; a missing field is LINE's fault and raises LineAPIError, not KeyError."""

    origin: tuple[int, str | None, str, str] = (0, None, "", "")

    def __missing__(self, key: str) -> Any:
        status, request_id, method, path = self.origin
        raise LineAPIError(
            "server",
            f"LINE's answer lacks the field {key!r}",
            status=status,
            request_id=request_id,
            retryable=True,
            method=method,
            path=path,
        )


def _malformed(response: requests.Response, method: str, path: str, message: str) -> LineAPIError:
    return LineAPIError(
        "server",
        message,
        status=response.status_code,
        request_id=response.headers.get("x-line-request-id"),
        retryable=True,
        method=method,
        path=path,
    )


class BaseClient:
    """Holds the token and one pooled session; every endpoint goes through :meth:`_call`."""

    def __init__(
        self,
        *,
        access_token: str,
        api_base: str = API_BASE,
        data_api_base: str = DATA_API_BASE,
        timeout: Timeout = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        pool_maxsize: int = 32,
    ) -> None:
        if not access_token:
            raise ValueError("access_token is required")
        self._token = access_token
        self.api_base = api_base.rstrip("/")
        self.data_api_base = data_api_base.rstrip("/")
        self.timeout = timeout
        self._owns_session = session is None
        self.session = session if session is not None else _transport.make_session(pool_maxsize=pool_maxsize)
        # The sends take the lean path (see _wire); a session handed in is used as given for everything.
        self._wire = _wire.Wire(self.session) if self._owns_session else None

    def __repr__(self) -> str:  # never show the token
        return f"{type(self).__name__}(api_base={self.api_base!r})"

    def close(self) -> None:
        """Close the session (and the sends' connections) if this client created it."""
        if self._owns_session:
            self.session.close()
        if self._wire is not None:
            self._wire.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- transport ------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        data_host: bool = False,
        body: Any = None,
        raw: bytes | None = None,
        content_type: str | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        ok: Collection[int] = (200,),
        stream: bool = False,
        lean: bool = False,
    ) -> requests.Response:
        all_headers = {"Authorization": f"Bearer {self._token}"}
        payload: bytes | None = raw
        if body is not None:
            payload = _transport.encode_json(body)
            all_headers["Content-Type"] = "application/json"
        if content_type:
            all_headers["Content-Type"] = content_type
        if headers:
            all_headers.update(headers)
        return _transport.perform(
            self.session,
            method,
            self.data_api_base if data_host else self.api_base,
            path,
            headers=all_headers,
            params=params,
            data=payload,
            timeout=self.timeout,
            ok=ok,
            stream=stream,
            secrets=(self._token,),
            wire=self._wire if lean else None,
        )

    def _json(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        data_host: bool = False,
        ok: Collection[int] = (200,),
    ) -> Any:
        response = self._call(method, path, body=body, params=params, data_host=data_host, ok=ok)
        data = _transport.json_body(response, method=method, path=path)
        if not isinstance(data, dict):
            raise _malformed(response, method, path, "LINE's answer is not a JSON object")
        answer = _Answer(data)
        answer.origin = (response.status_code, response.headers.get("x-line-request-id"), method, path)
        return answer

    def _get(self, path: str, params: Mapping[str, Any] | None = None, **kw: Any) -> Any:
        return self._json("GET", path, params=params, **kw)

    def _post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self._json("POST", path, body={} if body is None else body, **kw)

    def _get_or_none(self, path: str, key: str) -> str | None:
        """GET a single-ID resource; a 404 ("none set") is an answer, not an error."""
        try:
            value = self._get(path).get(key)
        except LineAPIError as error:
            if error.status == 404:
                return None
            raise
        return str(value) if value else None

    def _download(
        self,
        path: str,
        *,
        stream_to: IO[bytes] | None = None,
        ok: Collection[int] = (200,),
    ) -> Content:
        response = self._call("GET", path, data_host=True, ok=ok, stream=True)
        try:
            content_type = response.headers.get("Content-Type")
            if response.status_code == 202:
                return Content(status=202, data=b"", content_type=None, size=0, ready=False)
            if stream_to is None:
                data = response.content
                return Content(status=response.status_code, data=data, content_type=content_type, size=len(data))
            size = 0
            for chunk in response.iter_content(_CHUNK):
                stream_to.write(chunk)
                size += len(chunk)
            return Content(status=response.status_code, data=b"", content_type=content_type, size=size)
        except requests.RequestException as exc:
            # The body broke off mid-download: the status line was fine, the data is not.
            raise _transport.network_error(
                exc, method="GET", path=path, timeout=self.timeout, secrets=(self._token,)
            ) from None
        finally:
            response.close()
