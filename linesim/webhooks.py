"""Outgoing webhooks: build event envelopes, sign them the way LINE does, and deliver them."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import threading

import requests
from starlette.concurrency import run_in_threadpool

from . import ids

USER_AGENT = "LineBotWebhook/2.0"
_local = threading.local()


def sign(secret: str, body: bytes) -> str:
    """x-line-signature: base64(HMAC-SHA256(channel secret, raw body bytes))."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def envelope(
    event_type: str, source: dict | None, *, reply_token: str | None = None, timestamp: int | None = None
) -> dict:
    """The fields every webhook event carries (webhook.yml#Event)."""
    timestamp = timestamp or ids.now_ms()
    event = {
        "type": event_type,
        "mode": "active",
        "timestamp": timestamp,
        "webhookEventId": ids.ulid(timestamp),
        "deliveryContext": {"isRedelivery": False},
    }
    if source is not None:
        event["source"] = source
    if reply_token is not None:
        event["replyToken"] = reply_token
    return event


def user_source(user_id: str) -> dict:
    return {"type": "user", "userId": user_id}


def group_source(group_id: str, user_id: str | None) -> dict:
    source = {"type": "group", "groupId": group_id}
    if user_id:
        source["userId"] = user_id
    return source


def _session() -> requests.Session:
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


def _post(url: str, body: bytes, signature: str, timeout: float) -> tuple[int | None, str, str | None]:
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "x-line-signature": signature,
        "User-Agent": USER_AGENT,
    }
    try:
        response = _session().post(url, data=body, headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        return None, "", f"{type(exc).__name__}: {exc}"
    return response.status_code, response.text[:4000], None


async def deliver(sim, channel, events: list[dict], *, url: str | None = None) -> dict:
    """Sign and POST ``{"destination", "events"}`` to the channel's webhook URL.

    Returns what the control API reports: the app's status (None if unreachable) and body.
    Events are remembered so that /_sim/redeliver can send them again.
    """
    for event in events:
        if "webhookEventId" in event:
            sim.events[event["webhookEventId"]] = (channel.channel_id, event)
    body = json.dumps(
        {"destination": channel.bot_user_id, "events": events}, ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")
    url = url or channel.webhook_url
    if not url:
        return {"webhookStatus": None, "webhookBody": "", "webhookError": "the channel has no webhookUrl"}
    status, text, error = await run_in_threadpool(_post, url, body, sign(channel.secret, body), sim.webhook_timeout)
    result = {"webhookStatus": status, "webhookBody": text}
    if error:
        result["webhookError"] = error
    return result


async def redeliver(sim, webhook_event_id: str) -> dict | None:
    """Send a stored event again, identical except ``deliveryContext.isRedelivery``."""
    stored = sim.events.get(webhook_event_id)
    if stored is None:
        return None
    channel_id, original = stored
    channel = sim.channels.get(channel_id)
    if channel is None:
        return None
    event = copy.deepcopy(original)
    event["deliveryContext"] = {"isRedelivery": True}
    if "replyToken" in event:
        sim.refresh_reply_token(event["replyToken"])
    result = await deliver(sim, channel, [event])
    sim.events[webhook_event_id] = (channel_id, original)  # keep the first delivery's copy
    return {"event": event, **result}
