"""Read-mostly LINE API endpoints: profile, bot info, quota, statistics, link tokens,
content, groups and the webhook endpoint settings."""

from __future__ import annotations

import time
from datetime import datetime

from linebot.v3.messaging import (
    MarkMessagesAsReadByTokenRequest,
    MarkMessagesAsReadRequest,
    SetWebhookEndpointRequest,
    ShowLoadingAnimationRequest,
    TestWebhookEndpointRequest,
)
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .endpoint import line_api, read_json
from .errors import NOT_FOUND, LineError, bad_request, detail
from .ledger import JST, jst_day, jst_day_of
from .limits import USER_ID
from .validation import sdk_errors
from .webhooks import deliver

DELIVERY_KINDS = ("reply", "push", "multicast", "broadcast")


async def validated(request, model, *, empty_ok: bool = False) -> dict:
    _, body = await read_json(request, empty_ok=empty_ok)
    errs = sdk_errors(model, body)
    if errs:
        raise bad_request(errs)
    return body


def _user_or_404(channel, user_id: str):
    user = channel.users.get(user_id)
    if user is None or user.state == "blocked":
        raise LineError(404, NOT_FOUND)
    return user


@line_api("profile")
async def profile(request, sim, channel):
    user_id = request.path_params["userId"]
    if not USER_ID.match(user_id):
        raise LineError(400, "Invalid userId")
    return JSONResponse(_user_or_404(channel, user_id).profile())


@line_api("info")
async def bot_info(request, sim, channel):
    return JSONResponse(
        {
            "userId": channel.bot_user_id,
            "basicId": channel.basic_id,
            "displayName": channel.display_name,
            "chatMode": "bot",
            "markAsReadMode": "auto",
        }
    )


@line_api("quota")
async def quota(request, sim, channel):
    value = sim.quota_of(channel)
    return JSONResponse({"type": "none"} if value is None else {"type": "limited", "value": value})


@line_api("quota-consumption")
async def quota_consumption(request, sim, channel):
    return JSONResponse({"totalUsage": channel.consumption})


@line_api("delivery")
async def delivery(request, sim, channel):
    """Sent counts for one day (UTC+9).  Unlike LINE, today's figures are already "ready",
    so that tests do not have to wait a day."""
    if request.path_params["kind"] not in DELIVERY_KINDS:
        raise LineError(404, NOT_FOUND)
    date = request.query_params.get("date", "")
    try:
        datetime.strptime(date, "%Y%m%d")
    except ValueError:
        raise bad_request([detail("date", "must be a date in yyyyMMdd format")]) from None
    if date < "20180331":
        return JSONResponse({"status": "out_of_service"})
    day = jst_day_of(date)
    if day > jst_day(time.time()):
        return JSONResponse({"status": "unready"})
    count = sim.ledger.daily[(channel.channel_id, request.path_params["kind"], day)]
    return JSONResponse({"status": "ready", "success": count})


@line_api("linkToken")
async def link_token(request, sim, channel):
    user_id = request.path_params["userId"]
    if not USER_ID.match(user_id):
        raise LineError(400, "Invalid userId")
    _user_or_404(channel, user_id)
    return JSONResponse({"linkToken": sim.issue_link_token(channel, user_id)})


# -- content (api-data host) ------------------------------------------------------------------------
def _content(sim, channel, message_id: str):
    content = sim.contents.get(message_id)
    if content is None or content.channel_id != channel.channel_id:
        raise LineError(404, NOT_FOUND)
    if content.unsent:
        raise LineError(410, "The content has been deleted because the message was unsent")
    return content


@line_api("content")
async def content(request, sim, channel):
    item = _content(sim, channel, request.path_params["messageId"])
    return Response(item.data, media_type=item.content_type)


@line_api("content-preview")
async def content_preview(request, sim, channel):
    item = _content(sim, channel, request.path_params["messageId"])
    return Response(item.data, media_type=item.content_type)


@line_api("content-transcoding")
async def content_transcoding(request, sim, channel):
    _content(sim, channel, request.path_params["messageId"])
    return JSONResponse({"status": "succeeded"})


def _int_param(request, name: str, default: int) -> int:
    value = request.query_params.get(name, "")
    return int(value) if value.isdigit() else default


# -- groups ---------------------------------------------------------------------------------------------
def _group(channel, group_id: str):
    group = channel.groups.get(group_id)
    if group is None:
        raise LineError(404, NOT_FOUND)
    return group


@line_api("group-summary")
async def group_summary(request, sim, channel):
    group = _group(channel, request.path_params["groupId"])
    out = {"groupId": group.group_id, "groupName": group.group_name}
    if group.picture_url:
        out["pictureUrl"] = group.picture_url
    return JSONResponse(out)


@line_api("group-members-count")
async def group_members_count(request, sim, channel):
    return JSONResponse({"count": len(_group(channel, request.path_params["groupId"]).member_ids)})


@line_api("group-members-ids")
async def group_members_ids(request, sim, channel):
    """Pages of at most 100 ids; ``start`` is the continuation token from ``next``."""
    members = _group(channel, request.path_params["groupId"]).member_ids
    start = _int_param(request, "start", 0)
    page = {"memberIds": members[start : start + 100]}
    if start + 100 < len(members):
        page["next"] = str(start + 100)
    return JSONResponse(page)


@line_api("group-member-profile")
async def group_member_profile(request, sim, channel):
    group = _group(channel, request.path_params["groupId"])
    user_id = request.path_params["userId"]
    if user_id not in group.member_ids or user_id not in channel.users:
        raise LineError(404, NOT_FOUND)
    profile = channel.users[user_id].profile()
    return JSONResponse({k: v for k, v in profile.items() if k in ("displayName", "userId", "pictureUrl")})


@line_api("group-leave")
async def group_leave(request, sim, channel):
    if channel.groups.pop(request.path_params["groupId"], None) is None:
        raise LineError(404, NOT_FOUND)
    return JSONResponse({})


@line_api("followers")
async def followers(request, sim, channel):
    friends = [u.user_id for u in channel.users.values() if u.state == "friend"]
    limit = min(_int_param(request, "limit", 300), 1000)
    start = _int_param(request, "start", 0)
    page = {"userIds": friends[start : start + limit]}
    if start + limit < len(friends):
        page["next"] = str(start + limit)
    return JSONResponse(page)


# -- webhook endpoint settings ---------------------------------------------------------------------------
@line_api("webhook-endpoint-get", limit="webhook-endpoint")
async def get_webhook_endpoint(request, sim, channel):
    return JSONResponse({"endpoint": channel.webhook_url or "", "active": channel.webhook_active})


@line_api("webhook-endpoint-set", limit="webhook-endpoint")
async def set_webhook_endpoint(request, sim, channel):
    body = await validated(request, SetWebhookEndpointRequest)
    endpoint = body["endpoint"]
    if not endpoint.startswith("https://") or len(endpoint) > 500:
        raise bad_request([detail("endpoint", "must be an HTTPS URL of at most 500 characters")])
    channel.webhook_url = endpoint
    return JSONResponse({})


@line_api("webhook-test", limit="webhook-test")
async def test_webhook_endpoint(request, sim, channel):
    body = await validated(request, TestWebhookEndpointRequest, empty_ok=True)
    url = body.get("endpoint") or channel.webhook_url
    result = await deliver(sim, channel, [], url=url)
    status = result["webhookStatus"]
    return JSONResponse(
        {
            "success": status == 200,
            "timestamp": datetime.now(JST).isoformat(timespec="seconds"),
            "statusCode": status or 0,
            "reason": "OK" if status == 200 else ("COULD_NOT_CONNECT" if status is None else "ERROR_STATUS_CODE"),
            "detail": result["webhookBody"][:200],
        }
    )


@line_api("mark-as-read")
async def mark_as_read(request, sim, channel):
    await validated(request, MarkMessagesAsReadByTokenRequest)
    return JSONResponse({})


@line_api("mark-as-read-by-user")
async def mark_as_read_by_user(request, sim, channel):
    await validated(request, MarkMessagesAsReadRequest)
    return JSONResponse({})


@line_api("loading")
async def loading(request, sim, channel):
    await validated(request, ShowLoadingAnimationRequest)
    return JSONResponse({}, status_code=202)


routes = [
    Route("/v2/bot/profile/{userId}", profile, methods=["GET"]),
    Route("/v2/bot/info", bot_info, methods=["GET"]),
    Route("/v2/bot/message/quota", quota, methods=["GET"]),
    Route("/v2/bot/message/quota/consumption", quota_consumption, methods=["GET"]),
    Route("/v2/bot/message/delivery/{kind:str}", delivery, methods=["GET"]),
    Route("/v2/bot/user/{userId}/linkToken", link_token, methods=["POST"]),
    Route("/v2/bot/message/{messageId}/content", content, methods=["GET"]),
    Route("/v2/bot/message/{messageId}/content/preview", content_preview, methods=["GET"]),
    Route("/v2/bot/message/{messageId}/content/transcoding", content_transcoding, methods=["GET"]),
    Route("/v2/bot/group/{groupId}/summary", group_summary, methods=["GET"]),
    Route("/v2/bot/group/{groupId}/members/count", group_members_count, methods=["GET"]),
    Route("/v2/bot/group/{groupId}/members/ids", group_members_ids, methods=["GET"]),
    Route("/v2/bot/group/{groupId}/member/{userId}", group_member_profile, methods=["GET"]),
    Route("/v2/bot/group/{groupId}/leave", group_leave, methods=["POST"]),
    Route("/v2/bot/followers/ids", followers, methods=["GET"]),
    Route("/v2/bot/channel/webhook/endpoint", get_webhook_endpoint, methods=["GET"]),
    Route("/v2/bot/channel/webhook/endpoint", set_webhook_endpoint, methods=["PUT"]),
    Route("/v2/bot/channel/webhook/test", test_webhook_endpoint, methods=["POST"]),
    Route("/v2/bot/chat/markAsRead", mark_as_read, methods=["POST"]),
    Route("/v2/bot/message/markAsRead", mark_as_read_by_user, methods=["POST"]),
    Route("/v2/bot/chat/loading/start", loading, methods=["POST"]),
]
