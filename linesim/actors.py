"""Play LINE users: each action builds a realistic webhook event and delivers it, signed.

Routes live under /_sim/channels/{channelId}/users/{userId}/<action>; see README.md.
"""

from __future__ import annotations

import secrets
import time

from starlette.responses import JSONResponse

from . import ids
from .images import make_png
from .state import Content
from .webhooks import deliver, envelope, group_source, user_source

DEFAULT_LOCATION = {
    "title": "Tokyo Tower",
    "address": "4-2-8 Shibakoen, Minato-ku, Tokyo",
    "latitude": 35.65858,
    "longitude": 139.745433,
}


class ActorError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _source_and_target(channel, user, body: dict) -> tuple[dict, str]:
    """The event source, and who a reply to it reaches (the user, or the group)."""
    group_id = body.get("groupId")
    if not group_id:
        return user_source(user.user_id), user.user_id
    group = channel.groups.get(group_id)
    if group is None:
        raise ActorError(404, f"unknown group {group_id}")
    if user.user_id not in group.member_ids:
        group.member_ids.append(user.user_id)
    return group_source(group_id, user.user_id), group_id


def _reply_event(sim, channel, user, body, event_type: str) -> dict:
    source, target = _source_and_target(channel, user, body)
    timestamp = ids.now_ms()
    token = sim.issue_reply_token(channel, target, timestamp / 1000)
    return envelope(event_type, source, reply_token=token, timestamp=timestamp)


def _message_event(sim, channel, user, body, message: dict) -> dict:
    event = _reply_event(sim, channel, user, body, "message")
    message_id = ids.message_id()
    if message.get("type") in ("text", "image", "video", "sticker"):  # quotable content
        message = {"quoteToken": ids.quote_token(message_id), **message}
    event["message"] = {"id": message_id, **message}
    return event


# -- one builder per action: (sim, channel, user, body) -> list of events ------------------------------
def follow(sim, channel, user, body):
    event = _reply_event(sim, channel, user, {}, "follow")
    event["follow"] = {"isUnblocked": user.has_unfollowed}
    channel.set_state(user, "friend")
    return [event]


def unfollow(sim, channel, user, body):
    channel.set_state(user, "blocked")
    return [envelope("unfollow", user_source(user.user_id))]


def text(sim, channel, user, body):
    value = body.get("text")
    if not isinstance(value, str) or not value:
        raise ActorError(400, "text is required")
    message = {"type": "text", "text": value, "markAsReadToken": secrets.token_urlsafe(24)}
    for key in ("emojis", "mention", "quotedMessageId"):
        if body.get(key) is not None:
            message[key] = body[key]
    return [_message_event(sim, channel, user, body, message)]


def image(sim, channel, user, body):
    count = body.get("count", 1)
    if not isinstance(count, int) or not 1 <= count <= 20:
        raise ActorError(400, "count must be an integer between 1 and 20")
    set_id = secrets.token_hex(16).upper()
    events = []
    for index in range(1, count + 1):
        message = {"type": "image", "contentProvider": {"type": "line"}}
        if count > 1:
            message["imageSet"] = {"id": set_id, "index": index, "total": count}
        event = _message_event(sim, channel, user, body, message)
        rgb = tuple(secrets.randbelow(256) for _ in range(3))
        sim.contents[event["message"]["id"]] = Content(channel.channel_id, make_png(240, 240, rgb), "image/png")
        events.append(event)
    return events


def sticker(sim, channel, user, body):
    message = {
        "type": "sticker",
        "packageId": str(body.get("packageId", "446")),
        "stickerId": str(body.get("stickerId", "1988")),
        "stickerResourceType": body.get("stickerResourceType", "STATIC"),
        "keywords": body.get("keywords", ["Hello"]),
    }
    return [_message_event(sim, channel, user, body, message)]


def location(sim, channel, user, body):
    message = {"type": "location", **DEFAULT_LOCATION, **{k: body[k] for k in DEFAULT_LOCATION if k in body}}
    return [_message_event(sim, channel, user, body, message)]


def file(sim, channel, user, body):
    data = str(body.get("content", "Hello from linesim\n")).encode("utf-8")
    message = {"type": "file", "fileName": body.get("fileName", "note.txt"), "fileSize": len(data)}
    event = _message_event(sim, channel, user, body, message)
    sim.contents[event["message"]["id"]] = Content(channel.channel_id, data, "application/octet-stream")
    return [event]


def postback(sim, channel, user, body):
    data = body.get("data")
    if not isinstance(data, str):
        raise ActorError(400, "data is required")
    event = _reply_event(sim, channel, user, body, "postback")
    event["postback"] = {"data": data}
    if isinstance(body.get("params"), dict):
        event["postback"]["params"] = body["params"]
    return [event]


def unsend(sim, channel, user, body):
    message_id = str(body.get("messageId") or "")
    if not message_id:
        raise ActorError(400, "messageId is required")
    if message_id in sim.contents:
        sim.contents[message_id].unsent = True
    source, _ = _source_and_target(channel, user, body)
    event = envelope("unsend", source)
    event["unsend"] = {"messageId": message_id}
    return [event]


def account_link(sim, channel, user, body):
    """ok only for an unused, unexpired token issued for this user.  A token issued for
    someone else yields ``failed`` (no source, no reply token); an unknown, used or
    expired token yields no webhook at all (the user sees an error in LINE)."""
    token, nonce = body.get("linkToken"), body.get("nonce")
    if not isinstance(token, str) or not isinstance(nonce, str) or not nonce:
        raise ActorError(400, "linkToken and nonce are required")
    info = sim.link_tokens.get(token)
    if info is None or info.used or info.channel_id != channel.channel_id or info.expires_at < time.time():
        raise ActorError(400, "the link token is unknown, used or expired: LINE sends no webhook")
    if body.get("result", "ok") == "ok" and info.user_id == user.user_id:
        info.used = True
        event = _reply_event(sim, channel, user, {}, "accountLink")
        event["link"] = {"result": "ok", "nonce": nonce}
    else:
        event = envelope("accountLink", None)
        event["link"] = {"result": "failed", "nonce": nonce}
    return [event]


ACTIONS = {
    "follow": follow,
    "unfollow": unfollow,
    "text": text,
    "image": image,
    "sticker": sticker,
    "location": location,
    "file": file,
    "postback": postback,
    "unsend": unsend,
    "account-link": account_link,
}


async def act(sim, channel, user, action: str, body: dict) -> JSONResponse:
    builder = ACTIONS.get(action)
    if builder is None:
        return JSONResponse({"message": f"unknown action {action}"}, status_code=404)
    try:
        events = builder(sim, channel, user, body)
    except ActorError as err:
        return JSONResponse({"message": err.message}, status_code=err.status)
    result = await deliver(sim, channel, events)
    out = {"event": events[0], **result}
    if len(events) > 1:
        out["events"] = events
    return JSONResponse(out)
