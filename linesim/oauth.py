"""Channel access token endpoints (channel-access-token.yml): issue, verify, revoke.

These answer in OAuth style ({"error", "error_description"}) rather than the Messaging
API's {"message"}.  JWT-assertion (v2.1) issuing is not simulated.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .endpoint import line_api, read_body
from .errors import RATE_LIMITED, LineError, oauth_error

SCOPE = "P CM"


async def read_form(request) -> dict[str, str]:
    raw = await read_body(request)
    try:
        pairs = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        pairs = {}
    return {k: v[0] for k, v in pairs.items()}


def _client(sim, form: dict):
    """The channel named by client_id/client_secret, or an invalid_client error."""
    if form.get("grant_type") != "client_credentials":
        raise oauth_error("unsupported_grant_type", "grant_type must be client_credentials")
    if form.get("client_assertion"):
        raise oauth_error("invalid_request", "JWT client assertions are not supported by linesim")
    channel = sim.channels.get(form.get("client_id", ""))
    if channel is None or channel.secret != form.get("client_secret"):
        raise oauth_error("invalid_client", "invalid client_id or client_secret")
    return channel


def _verified(sim, token: str) -> dict:
    info = sim.tokens.get(token or "")
    now = time.time()
    if info is None or (info.expires_at is not None and info.expires_at <= now):
        raise oauth_error("invalid_request", "access token expired")
    return {"client_id": info.channel_id, "expires_in": info.expires_in(now), "scope": SCOPE}


@line_api("token-short-lived", auth=False)
async def issue_short_lived(request, sim, _):
    form = await read_form(request)
    channel = _client(sim, form)
    if sim.rate_limited(channel) and not sim.limiter.take(channel.channel_id, "short-lived-token"):
        raise LineError(429, RATE_LIMITED)
    token, ttl = sim.issue_token(channel, "short-lived")
    return JSONResponse({"access_token": token, "expires_in": ttl, "token_type": "Bearer"})


@line_api("token-stateless", auth=False)
async def issue_stateless(request, sim, _):
    channel = _client(sim, await read_form(request))
    token, ttl = sim.issue_token(channel, "stateless")
    return JSONResponse({"token_type": "Bearer", "access_token": token, "expires_in": ttl})


@line_api("token-verify", auth=False)
async def verify_v2(request, sim, _):
    verified = _verified(sim, (await read_form(request)).get("access_token", ""))
    return JSONResponse(
        {"scope": verified["scope"], "client_id": verified["client_id"], "expires_in": verified["expires_in"]}
    )


@line_api("token-verify", auth=False)
async def verify_v21(request, sim, _):
    return JSONResponse(_verified(sim, request.query_params.get("access_token", "")))


def _revoke(sim, token: str) -> None:
    info = sim.tokens.get(token)
    if info is not None and info.kind != "stateless":  # stateless tokens cannot be revoked
        del sim.tokens[token]


@line_api("token-revoke", auth=False)
async def revoke_v2(request, sim, _):
    form = await read_form(request)
    if not form.get("access_token"):
        raise oauth_error("invalid_request", "access_token is required")
    _revoke(sim, form["access_token"])
    return Response(status_code=200)


@line_api("token-revoke", auth=False)
async def revoke_v21(request, sim, _):
    form = await read_form(request)
    channel = sim.channels.get(form.get("client_id", ""))
    if channel is None or channel.secret != form.get("client_secret"):
        raise oauth_error("invalid_client", "invalid client_id or client_secret")
    _revoke(sim, form.get("access_token", ""))
    return Response(status_code=200)


routes = [
    Route("/v2/oauth/accessToken", issue_short_lived, methods=["POST"]),
    Route("/v2/oauth/verify", verify_v2, methods=["POST"]),
    Route("/v2/oauth/revoke", revoke_v2, methods=["POST"]),
    Route("/oauth2/v3/token", issue_stateless, methods=["POST"]),
    Route("/oauth2/v2.1/verify", verify_v21, methods=["GET"]),
    Route("/oauth2/v2.1/revoke", revoke_v21, methods=["POST"]),
]
