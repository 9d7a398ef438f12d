"""Channel access tokens: issue, verify and revoke (LINE's OAuth endpoints).

Plain functions, because they run before a channel has a token (so before a
LineClient exists). Pass ``session`` to reuse connections; otherwise each call
opens and closes its own. Secrets never reach logs or exception text, and the
returned :class:`IssuedToken` hides the token from ``repr``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import requests

from ._transport import DEFAULT_TIMEOUT, Timeout, json_body, make_session, perform
from .errors import LineAPIError
from .results import IssuedToken, TokenInfo

__all__ = [
    "IssuedToken",
    "TokenInfo",
    "issue_short_lived_token",
    "issue_stateless_token",
    "revoke_short_lived_token",
    "verify_token",
]

_FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def issue_short_lived_token(
    *,
    api_base: str,
    channel_id: str,
    channel_secret: str,
    session: requests.Session | None = None,
    timeout: Timeout = DEFAULT_TIMEOUT,
) -> IssuedToken:
    """A 30-day token (``POST /v2/oauth/accessToken``); LINE keeps at most 30 per channel."""
    return _issue("/v2/oauth/accessToken", api_base, channel_id, channel_secret, session, timeout)


def issue_stateless_token(
    *,
    api_base: str,
    channel_id: str,
    channel_secret: str,
    session: requests.Session | None = None,
    timeout: Timeout = DEFAULT_TIMEOUT,
) -> IssuedToken:
    """A 15-minute token (``POST /oauth2/v3/token``): unlimited in number, not revocable."""
    return _issue("/oauth2/v3/token", api_base, channel_id, channel_secret, session, timeout)


def _issue(
    path: str,
    api_base: str,
    channel_id: str,
    channel_secret: str,
    session: requests.Session | None,
    timeout: Timeout,
) -> IssuedToken:
    """Both issue endpoints take the same client-credentials form and answer in the same shape."""
    form = {"grant_type": "client_credentials", "client_id": channel_id, "client_secret": channel_secret}
    return _issued(_post_form(api_base, path, form, session, timeout, channel_secret), path)


def verify_token(
    *,
    api_base: str,
    access_token: str,
    session: requests.Session | None = None,
    timeout: Timeout = DEFAULT_TIMEOUT,
) -> TokenInfo:
    """Which channel a token belongs to and how long it lives (``GET /oauth2/v2.1/verify``).

    An invalid or expired token raises LineAPIError with status 400.
    """
    path = "/oauth2/v2.1/verify"
    with _session(session) as s:
        response = perform(
            s,
            "GET",
            api_base,
            path,
            params={"access_token": access_token},
            timeout=timeout,
            secrets=(access_token,),
        )
        data = json_body(response, method="GET", path=path)
    try:
        return TokenInfo(
            client_id=str(data["client_id"]),
            expires_in=int(data["expires_in"]),
            scope=data.get("scope"),
        )
    except (KeyError, TypeError, ValueError):
        raise _malformed("GET", path) from None


def revoke_short_lived_token(
    *,
    api_base: str,
    access_token: str,
    session: requests.Session | None = None,
    timeout: Timeout = DEFAULT_TIMEOUT,
) -> None:
    """Revoke a short-lived or long-lived token (``POST /v2/oauth/revoke``)."""
    _post_form(api_base, "/v2/oauth/revoke", {"access_token": access_token}, session, timeout, access_token)


def _post_form(
    api_base: str,
    path: str,
    form: Mapping[str, str],
    session: requests.Session | None,
    timeout: Timeout,
    secret: str,
) -> Any:
    with _session(session) as s:
        response = perform(
            s,
            "POST",
            api_base,
            path,
            headers=_FORM,
            data=dict(form),
            timeout=timeout,
            secrets=(secret,),
        )
        return json_body(response, method="POST", path=path)


def _issued(data: Any, path: str) -> IssuedToken:
    try:
        return IssuedToken(
            access_token=str(data["access_token"]),
            expires_in=int(data["expires_in"]),
            token_type=str(data.get("token_type") or "Bearer"),
            key_id=data.get("key_id"),
        )
    except (KeyError, TypeError, ValueError):
        raise _malformed("POST", path) from None


def _malformed(method: str, path: str) -> LineAPIError:
    return LineAPIError(
        "server",
        "LINE's token response lacks a required field",
        status=200,
        retryable=True,
        method=method,
        path=path,
    )


@contextmanager
def _session(session: requests.Session | None) -> Iterator[requests.Session]:
    if session is not None:
        yield session
        return
    own = make_session(pool_maxsize=1)
    try:
        yield own
    finally:
        own.close()
