"""Sending endpoints: reply, push, multicast, broadcast, narrowcast, validate, progress."""

from __future__ import annotations

import time

from linebot.v3.messaging import (
    BroadcastRequest,
    MulticastRequest,
    NarrowcastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
    ValidateMessageRequest,
)
from starlette.responses import JSONResponse
from starlette.routing import Route

from . import ids
from .endpoint import RETRY_KEY_HEADER, line_api, read_json, refuse_accepted_retry, request_id
from .errors import INVALID_REPLY_TOKEN, MONTHLY_LIMIT, LineError, bad_request, detail
from .ledger import Record, iso
from .limits import PUSH_TO, check_aggregation_units, check_messages, check_user_ids
from .validation import merged, sdk_errors

MODELS = {
    "reply": ReplyMessageRequest,
    "push": PushMessageRequest,
    "multicast": MulticastRequest,
    "broadcast": BroadcastRequest,
    "narrowcast": NarrowcastRequest,
}
NARROWCAST_WAITING_S = 0.3  # progress phases: waiting, then sending, then succeeded
NARROWCAST_SENDING_S = 1.0


# -- validation ---------------------------------------------------------------------------------------
def validate_send(kind: str, body: dict) -> None:
    """SDK model (the contract) plus LINE's documented limits; raise a 400 listing both."""
    errs: list[dict] = []
    sdk_body = body
    if kind == "multicast":
        check_user_ids(errs, body.get("to"), "to")
        if errs:
            raise bad_request(errs)
        # The ids are checked above; handing the SDK only the first one keeps validating a
        # 500-recipient multicast ~20x cheaper without weakening anything.
        sdk_body = dict(body, to=body["to"][:1])
    errs = sdk_errors(MODELS[kind], sdk_body)
    if kind == "push" and isinstance(body.get("to"), str) and not PUSH_TO.match(body["to"]):
        errs.append(detail("to", "invalid user, group or room ID"))
    limit_errs: list[dict] = []
    if kind in ("push", "multicast"):
        check_aggregation_units(limit_errs, body)
    limit_errs += check_messages(body.get("messages"))
    errs = merged(errs, limit_errs)
    if errs:
        raise bad_request(errs)


# -- accepting a send --------------------------------------------------------------------------------
def recipients_for(kind: str, sim, channel, body: dict, reply) -> tuple[list | None, int]:
    """(explicit recipient list or None when body["to"] says it, number of recipients)."""
    if kind == "push":
        return None, 1
    if kind == "multicast":
        return None, len(body["to"])
    if kind == "reply":
        return [reply.to], 1
    audience = channel.audience()
    if kind == "narrowcast":
        limit = body.get("limit") or {}
        if isinstance(limit.get("max"), int):
            audience = audience[: limit["max"]]
    return audience, len(audience)


def undelivered_for(channel, to: list[str]) -> frozenset | None:
    """Registered users who have blocked the account get nothing (LINE still answers 200)."""
    blocked = channel.blocked_ids
    if not blocked:
        return None
    hit = blocked.intersection(to)
    return frozenset(hit) if hit else None


def check_quota(sim, channel, count: int) -> None:
    quota = sim.quota_of(channel)
    if quota is not None and channel.consumption + count > quota:
        raise LineError(429, MONTHLY_LIMIT)


async def send(request, sim, channel, kind: str) -> JSONResponse:
    raw, body = await read_json(request)
    validate_send(kind, body)
    reply = None
    if kind == "reply":
        reply = sim.take_reply_token(channel, body["replyToken"])
        if reply is None:
            raise LineError(400, INVALID_REPLY_TOKEN)
    key = request.headers.get(RETRY_KEY_HEADER)
    if key:
        # Checked again here, after the last await: a concurrent twin may have been accepted
        # while this body was being read.
        refuse_accepted_retry(sim, channel, key)
    to, count = recipients_for(kind, sim, channel, body, reply)
    if kind != "reply":
        check_quota(sim, channel, count)
    sent_ids = None
    if kind in ("reply", "push"):
        sent_ids = tuple(ids.message_number() for _ in body["messages"])
    targets = to if to is not None else ([body["to"]] if kind == "push" else body["to"])
    record = Record(
        request_id=request_id(request),
        retry_key=key,
        channel_id=channel.channel_id,
        endpoint=kind,
        body=raw,
        to=to,
        reply_token=body.get("replyToken") if kind == "reply" else None,
        sent_ids=sent_ids,
        recipients=count,
        undelivered=undelivered_for(channel, targets),
    )
    sim.ledger.accept(record)
    if reply is not None:
        reply.used = True
    else:
        channel.consumption += count
    if sent_ids is not None:
        return JSONResponse({"sentMessages": record.sent_messages(body)})
    return JSONResponse({}, status_code=202 if kind == "narrowcast" else 200)


# -- handlers -------------------------------------------------------------------------------------------
@line_api("reply")
async def reply(request, sim, channel):
    return await send(request, sim, channel, "reply")


@line_api("push", retry_key=True)
async def push(request, sim, channel):
    return await send(request, sim, channel, "push")


@line_api("multicast", retry_key=True)
async def multicast(request, sim, channel):
    return await send(request, sim, channel, "multicast")


@line_api("broadcast", retry_key=True)
async def broadcast(request, sim, channel):
    return await send(request, sim, channel, "broadcast")


@line_api("narrowcast", retry_key=True)
async def narrowcast(request, sim, channel):
    return await send(request, sim, channel, "narrowcast")


@line_api("validate")
async def validate(request, sim, channel):
    if request.path_params["kind"] not in MODELS:
        raise LineError(404, "Not found")
    _, body = await read_json(request)
    errs = merged(sdk_errors(ValidateMessageRequest, body), check_messages(body.get("messages")))
    if errs:
        raise bad_request(errs)
    return JSONResponse({})


@line_api("narrowcast-progress")
async def narrowcast_progress(request, sim, channel):
    rid = request.query_params.get("requestId")
    if not rid:
        raise LineError(400, "The request parameter 'requestId' is required")
    record = sim.ledger.narrowcasts.get(rid)
    if record is None or record.channel_id != channel.channel_id:
        raise LineError(404, "Not found")
    return JSONResponse(progress_of(record))


def progress_of(record) -> dict:
    elapsed = time.time() - record.accepted_at
    out = {"phase": "waiting", "acceptedTime": iso(record.accepted_at)}
    if elapsed >= NARROWCAST_WAITING_S:
        out.update(phase="sending", targetCount=record.recipients)
    if elapsed >= NARROWCAST_SENDING_S:
        out.update(
            phase="succeeded",
            successCount=record.recipients,
            failureCount=0,
            completedTime=iso(record.accepted_at + NARROWCAST_SENDING_S),
        )
    return out


routes = [
    Route("/v2/bot/message/push", push, methods=["POST"]),
    Route("/v2/bot/message/reply", reply, methods=["POST"]),
    Route("/v2/bot/message/multicast", multicast, methods=["POST"]),
    Route("/v2/bot/message/broadcast", broadcast, methods=["POST"]),
    Route("/v2/bot/message/narrowcast", narrowcast, methods=["POST"]),
    Route("/v2/bot/message/progress/narrowcast", narrowcast_progress, methods=["GET"]),
    Route("/v2/bot/message/validate/{kind:str}", validate, methods=["POST"]),
]
