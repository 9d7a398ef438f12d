"""The control API under /_sim/: set up channels and users, act as users, read the ledger,
inject faults, change limits, reset.  Every route is documented in README.md."""

from __future__ import annotations

import json
from itertools import islice

from starlette.responses import JSONResponse
from starlette.routing import Route

from . import actors, ids, page
from .faults import FaultSpecError
from .ledger import received_by
from .limits import USER_ID
from .state import Group
from .webhooks import deliver, redeliver


class ControlError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def control(handler):
    """Render ControlError as {"message"} JSON; hand the handler the Sim."""

    async def endpoint(request):
        try:
            return await handler(request, request.app.state.sim)
        except ControlError as err:
            return JSONResponse({"message": err.message}, status_code=err.status)

    endpoint.__name__ = handler.__name__
    return endpoint


async def body_of(request) -> dict:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise ControlError(400, "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ControlError(400, "the body must be a JSON object")
    return data


def channel_of(sim, request):
    channel = sim.channels.get(request.path_params["channelId"])
    if channel is None:
        raise ControlError(404, f"unknown channel {request.path_params['channelId']}")
    return channel


def user_of(sim, channel, request, *, create: bool = False):
    user_id = request.path_params["userId"]
    user = channel.users.get(user_id)
    if user is None and create and USER_ID.match(user_id):
        user = sim.add_user(channel, {"userId": user_id})
    if user is None:
        raise ControlError(404, f"unknown user {user_id}")
    return user


# -- channels, users, groups ----------------------------------------------------------------------------
@control
async def channels_create(request, sim):
    data = await body_of(request)
    for key in ("channelId", "channelSecret", "accessToken"):
        if not isinstance(data.get(key), (str, int)) or data.get(key) == "":
            raise ControlError(400, f"{key} is required")
    if data.get("botUserId") and not USER_ID.match(data["botUserId"]):
        raise ControlError(400, "botUserId must match ^U[0-9a-f]{32}$")
    channel, _ = sim.register_channel(data)
    return JSONResponse(channel.to_json(), status_code=201)


@control
async def channels_list(request, sim):
    return JSONResponse({"channels": [c.to_json() for c in sim.channels.values()]})


@control
async def channel_get(request, sim):
    return JSONResponse(channel_of(sim, request).to_json())


@control
async def users_create(request, sim):
    channel = channel_of(sim, request)
    data = await body_of(request)
    if data.get("userId") and not USER_ID.match(str(data["userId"])):
        raise ControlError(400, "userId must match ^U[0-9a-f]{32}$")
    return JSONResponse(sim.add_user(channel, data).to_json(), status_code=201)


@control
async def users_list(request, sim):
    return JSONResponse({"users": [u.to_json() for u in channel_of(sim, request).users.values()]})


@control
async def groups_create(request, sim):
    channel = channel_of(sim, request)
    data = await body_of(request)
    group = Group(
        data.get("groupId") or ids.group_id(),
        data.get("groupName") or "Group",
        list(data.get("memberIds") or []),
        data.get("pictureUrl"),
    )
    channel.groups[group.group_id] = group
    return JSONResponse(group.to_json(), status_code=201)


@control
async def groups_list(request, sim):
    return JSONResponse({"groups": [g.to_json() for g in channel_of(sim, request).groups.values()]})


@control
async def user_messages(request, sim):
    channel = channel_of(sim, request)
    user = user_of(sim, channel, request)
    return JSONResponse({"userId": user.user_id, "messages": received_by(sim.ledger, channel, user.user_id)})


@control
async def user_action(request, sim):
    channel = channel_of(sim, request)
    user = user_of(sim, channel, request, create=True)
    return await actors.act(sim, channel, user, request.path_params["action"], await body_of(request))


# -- raw webhooks and redelivery -------------------------------------------------------------------------
@control
async def webhook_raw(request, sim):
    """Sign and send the given events as they are.  Reply tokens they carry become usable."""
    channel = channel_of(sim, request)
    events = (await body_of(request)).get("events")
    if not isinstance(events, list):
        raise ControlError(400, "events must be an array")
    for event in events:
        if isinstance(event, dict) and isinstance(event.get("replyToken"), str):
            source = event.get("source") or {}
            target = source.get("groupId") or source.get("roomId") or source.get("userId") or ""
            sim.register_reply_token(channel, event["replyToken"], target)
    result = await deliver(sim, channel, events)
    return JSONResponse({"events": events, **result})


@control
async def redeliver_event(request, sim):
    event_id = (await body_of(request)).get("webhookEventId")
    result = await redeliver(sim, str(event_id or ""))
    if result is None:
        raise ControlError(404, f"no event {event_id} was sent")
    return JSONResponse(result)


# -- ledger, reset, faults, config -------------------------------------------------------------------------
@control
async def ledger(request, sim):
    q = request.query_params
    selected = sim.ledger.select(channel_id=q.get("channelId"), user_id=q.get("userId"), endpoint=q.get("endpoint"))
    offset = int(q["offset"]) if q.get("offset", "").isdigit() else 0
    limit = int(q["limit"]) if q.get("limit", "").isdigit() else None
    page_ = islice(selected, offset, None if limit is None else offset + limit)
    return JSONResponse({"sends": [record.to_json(body) for record, body in page_]})


@control
async def ledger_summary(request, sim):
    return JSONResponse(sim.ledger.summary())


@control
async def reset(request, sim):
    sim.reset(everything=bool((await body_of(request)).get("all")))
    return JSONResponse({"reset": True})


@control
async def faults_add(request, sim):
    try:
        fault = sim.faults.add(await body_of(request))
    except FaultSpecError as err:
        raise ControlError(400, str(err)) from None
    return JSONResponse(fault.to_json(), status_code=201)


@control
async def faults_list(request, sim):
    return JSONResponse({"faults": sim.faults.to_json()})


@control
async def faults_clear(request, sim):
    sim.faults.clear()
    return JSONResponse({"faults": []})


@control
async def fault_delete(request, sim):
    if not sim.faults.remove(request.path_params["faultId"]):
        raise ControlError(404, "no such fault")
    return JSONResponse({"faults": sim.faults.to_json()})


@control
async def config_set(request, sim):
    data = await body_of(request)
    cid = data.get("channelId")
    if cid is not None and str(cid) not in sim.channels:
        raise ControlError(404, f"unknown channel {cid}")
    if "rateLimits" in data:
        if not isinstance(data["rateLimits"], bool):
            raise ControlError(400, "rateLimits must be true or false")
        if cid is None:
            sim.config.rate_limits = data["rateLimits"]
        else:
            sim.config.channel_rate_limits[str(cid)] = data["rateLimits"]
    if "quota" in data:
        quota = data["quota"]
        if quota is not None and (not isinstance(quota, int) or isinstance(quota, bool) or quota < 0):
            raise ControlError(400, "quota must be a non-negative integer or null")
        if cid is None:
            sim.config.quota = quota
        else:
            sim.config.channel_quota[str(cid)] = quota
    return JSONResponse(sim.config.to_json())


@control
async def config_get(request, sim):
    return JSONResponse(sim.config.to_json())


@control
async def health(request, sim):
    return JSONResponse({"ok": True, "channels": len(sim.channels)})


CH = "/_sim/channels/{channelId}"
routes = [
    Route("/_sim/", page.index, methods=["GET"]),
    Route("/_sim", page.index, methods=["GET"]),
    Route("/_sim/health", health, methods=["GET"]),
    Route("/_sim/content/{messageId}", page.content, methods=["GET"]),
    Route("/_sim/channels", channels_create, methods=["POST"]),
    Route("/_sim/channels", channels_list, methods=["GET"]),
    Route(CH, channel_get, methods=["GET"]),
    Route(f"{CH}/users", users_create, methods=["POST"]),
    Route(f"{CH}/users", users_list, methods=["GET"]),
    Route(f"{CH}/groups", groups_create, methods=["POST"]),
    Route(f"{CH}/groups", groups_list, methods=["GET"]),
    Route(f"{CH}/users/{{userId}}/messages", user_messages, methods=["GET"]),
    Route(f"{CH}/users/{{userId}}/{{action}}", user_action, methods=["POST"]),
    Route(f"{CH}/webhook", webhook_raw, methods=["POST"]),
    Route("/_sim/redeliver", redeliver_event, methods=["POST"]),
    Route("/_sim/ledger", ledger, methods=["GET"]),
    Route("/_sim/ledger/summary", ledger_summary, methods=["GET"]),
    Route("/_sim/reset", reset, methods=["POST"]),
    Route("/_sim/faults", faults_add, methods=["POST"]),
    Route("/_sim/faults", faults_list, methods=["GET"]),
    Route("/_sim/faults", faults_clear, methods=["DELETE"]),
    Route("/_sim/faults/{faultId:int}", fault_delete, methods=["DELETE"]),
    Route("/_sim/config", config_set, methods=["POST"]),
    Route("/_sim/config", config_get, methods=["GET"]),
]
