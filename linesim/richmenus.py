"""Rich menus: create/validate/get/list/delete, images, default and per-user links, bulk
link/unlink, batch and aliases."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from linebot.v3.messaging import (
    CreateRichMenuAliasRequest,
    RichMenuBatchRequest,
    RichMenuBulkLinkRequest,
    RichMenuBulkUnlinkRequest,
    RichMenuRequest,
    UpdateRichMenuAliasRequest,
)
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import ids
from .endpoint import line_api, read_body, read_json, request_id
from .errors import LineError, bad_request, detail
from .images import image_size
from .ledger import iso
from .limits import USER_ID, check_rich_menu, check_user_ids
from .validation import sdk_errors

MAX_MENUS = 1000
MAX_ALIASES = 1000
MAX_IMAGE = 1024 * 1024
IMAGE_TYPES = ("image/jpeg", "image/png")
ALIAS_ID = re.compile(r"^[a-z0-9_-]{1,32}$")


@dataclass
class Menu:
    body: dict
    image: bytes | None = None
    content_type: str | None = None


@dataclass
class Store:
    menus: dict[str, Menu] = field(default_factory=dict)
    default: str | None = None
    links: dict[str, str] = field(default_factory=dict)  # userId -> richMenuId
    aliases: dict[str, str] = field(default_factory=dict)  # aliasId -> richMenuId
    batches: dict[str, float] = field(default_factory=dict)  # requestId -> accepted time


def store_for(sim, channel) -> Store:
    return sim.richmenus.setdefault(channel.channel_id, Store())


def _menu(store: Store, menu_id: str) -> Menu:
    menu = store.menus.get(menu_id)
    if menu is None:
        raise LineError(404, "richmenu not found")
    return menu


def _validated_menu(body: dict) -> None:
    errs = sdk_errors(RichMenuRequest, body) or check_rich_menu(body)
    if errs:
        raise bad_request(errs)


def _menu_json(menu_id: str, menu: Menu) -> dict:
    keys = ("size", "selected", "name", "chatBarText", "areas")
    return {"richMenuId": menu_id, **{k: menu.body[k] for k in keys if k in menu.body}}


# -- menus ------------------------------------------------------------------------------------------------
@line_api("richmenu-create")
async def create(request, sim, channel):
    _, body = await read_json(request)
    _validated_menu(body)
    store = store_for(sim, channel)
    if len(store.menus) >= MAX_MENUS:
        raise LineError(400, "The maximum number of rich menus has been reached")
    menu_id = ids.rich_menu_id()
    store.menus[menu_id] = Menu(body)
    return JSONResponse({"richMenuId": menu_id})


@line_api("richmenu-validate")
async def validate(request, sim, channel):
    _, body = await read_json(request)
    _validated_menu(body)
    return JSONResponse({})


@line_api("richmenu-list")
async def list_menus(request, sim, channel):
    store = store_for(sim, channel)
    return JSONResponse({"richmenus": [_menu_json(k, m) for k, m in store.menus.items()]})


@line_api("richmenu-get")
async def get(request, sim, channel):
    menu_id = request.path_params["richMenuId"]
    return JSONResponse(_menu_json(menu_id, _menu(store_for(sim, channel), menu_id)))


@line_api("richmenu-delete")
async def delete(request, sim, channel):
    store = store_for(sim, channel)
    menu_id = request.path_params["richMenuId"]
    _menu(store, menu_id)
    del store.menus[menu_id]
    store.links = {u: m for u, m in store.links.items() if m != menu_id}
    store.aliases = {a: m for a, m in store.aliases.items() if m != menu_id}
    if store.default == menu_id:
        store.default = None
    return JSONResponse({})


@line_api("richmenu-image-upload")
async def upload_image(request, sim, channel):
    menu = _menu(store_for(sim, channel), request.path_params["richMenuId"])
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in IMAGE_TYPES:
        raise LineError(415, "Unsupported Media Type: use image/jpeg or image/png")
    data = await read_body(request, limit=MAX_IMAGE)
    if menu.image is not None:
        raise LineError(400, "An image has already been uploaded to the richmenu")
    size = image_size(data, content_type)
    expected = (menu.body["size"]["width"], menu.body["size"]["height"])
    if size is None:
        raise LineError(400, "The image could not be read as " + content_type)
    if tuple(size) != expected:
        raise LineError(
            400, f"The image size {size[0]}x{size[1]} does not match the rich menu size {expected[0]}x{expected[1]}"
        )
    menu.image, menu.content_type = data, content_type
    return JSONResponse({})


@line_api("richmenu-image-download")
async def download_image(request, sim, channel):
    menu = _menu(store_for(sim, channel), request.path_params["richMenuId"])
    if menu.image is None:
        raise LineError(404, "The rich menu has no image")
    return Response(menu.image, media_type=menu.content_type)


# -- default and per-user menus ------------------------------------------------------------------------------
def _linkable(store: Store, menu_id: str) -> None:
    if _menu(store, menu_id).image is None:
        raise LineError(400, "An image must be uploaded to the richmenu before it can be linked")


@line_api("richmenu-default-set")
async def set_default(request, sim, channel):
    store = store_for(sim, channel)
    _linkable(store, request.path_params["richMenuId"])
    store.default = request.path_params["richMenuId"]
    return JSONResponse({})


@line_api("richmenu-default-get")
async def get_default(request, sim, channel):
    store = store_for(sim, channel)
    if store.default is None:
        raise LineError(404, "no default richmenu")
    return JSONResponse({"richMenuId": store.default})


@line_api("richmenu-default-delete")
async def delete_default(request, sim, channel):
    store_for(sim, channel).default = None
    return JSONResponse({})


def _user_id(request) -> str:
    user_id = request.path_params["userId"]
    if not USER_ID.match(user_id):
        raise bad_request([detail("userId", "invalid user ID")])
    return user_id


@line_api("richmenu-user-link")
async def link_user(request, sim, channel):
    store, user_id = store_for(sim, channel), _user_id(request)
    _linkable(store, request.path_params["richMenuId"])
    store.links[user_id] = request.path_params["richMenuId"]
    return JSONResponse({})


@line_api("richmenu-user-get")
async def get_user_menu(request, sim, channel):
    store, user_id = store_for(sim, channel), _user_id(request)
    if user_id not in store.links:
        raise LineError(404, "the user has no richmenu linked")
    return JSONResponse({"richMenuId": store.links[user_id]})


@line_api("richmenu-user-unlink")
async def unlink_user(request, sim, channel):
    store_for(sim, channel).links.pop(_user_id(request), None)
    return JSONResponse({})


@line_api("richmenu-bulk-link")
async def bulk_link(request, sim, channel):
    _, body = await read_json(request)
    errs = sdk_errors(RichMenuBulkLinkRequest, body)
    if not errs:
        check_user_ids(errs, body["userIds"], "userIds")
    if errs:
        raise bad_request(errs)
    store = store_for(sim, channel)
    _linkable(store, body["richMenuId"])
    store.links.update(dict.fromkeys(body["userIds"], body["richMenuId"]))
    return JSONResponse({}, status_code=202)


@line_api("richmenu-bulk-unlink")
async def bulk_unlink(request, sim, channel):
    _, body = await read_json(request)
    errs = sdk_errors(RichMenuBulkUnlinkRequest, body)
    if not errs:
        check_user_ids(errs, body["userIds"], "userIds")
    if errs:
        raise bad_request(errs)
    store = store_for(sim, channel)
    for user_id in body["userIds"]:
        store.links.pop(user_id, None)
    return JSONResponse({}, status_code=202)


# -- batch ---------------------------------------------------------------------------------------------------
def _validated_batch(store: Store, body: dict) -> None:
    errs = sdk_errors(RichMenuBatchRequest, body)
    for i, op in enumerate([] if errs else body["operations"]):
        for key in ("from", "to"):
            if key in op and op[key] not in store.menus:
                errs.append(detail(f"operations[{i}].{key}", "richmenu not found"))
    if errs:
        raise bad_request(errs)


@line_api("richmenu-batch")
async def batch(request, sim, channel):
    _, body = await read_json(request)
    store = store_for(sim, channel)
    _validated_batch(store, body)
    for op in body["operations"]:
        if op["type"] == "link":
            store.links = {u: (op["to"] if m == op["from"] else m) for u, m in store.links.items()}
        elif op["type"] == "unlink":
            store.links = {u: m for u, m in store.links.items() if m != op["from"]}
        elif op["type"] == "unlinkAll":
            store.links.clear()
    store.batches[request_id(request)] = time.time()
    return JSONResponse({}, status_code=202)


@line_api("richmenu-batch-validate")
async def batch_validate(request, sim, channel):
    _, body = await read_json(request)
    _validated_batch(store_for(sim, channel), body)
    return JSONResponse({})


@line_api("richmenu-batch-progress")
async def batch_progress(request, sim, channel):
    accepted = store_for(sim, channel).batches.get(request.query_params.get("requestId", ""))
    if accepted is None:
        raise LineError(404, "Not found")
    return JSONResponse({"phase": "succeeded", "acceptedTime": iso(accepted), "completedTime": iso(accepted)})


# -- aliases --------------------------------------------------------------------------------------------------
def _alias(store: Store, alias_id: str) -> str:
    if alias_id not in store.aliases:
        raise LineError(404, "richmenu alias not found")
    return store.aliases[alias_id]


@line_api("richmenu-alias-create")
async def alias_create(request, sim, channel):
    _, body = await read_json(request)
    errs = sdk_errors(CreateRichMenuAliasRequest, body)
    if not errs and not ALIAS_ID.match(body["richMenuAliasId"]):
        errs.append(detail("richMenuAliasId", "must match ^[a-z0-9_-]{1,32}$"))
    if errs:
        raise bad_request(errs)
    store = store_for(sim, channel)
    if body["richMenuAliasId"] in store.aliases:
        raise LineError(400, "conflict richmenu alias id")
    if len(store.aliases) >= MAX_ALIASES:
        raise LineError(400, "The maximum number of richmenu aliases has been reached")
    _linkable(store, body["richMenuId"])
    store.aliases[body["richMenuAliasId"]] = body["richMenuId"]
    return JSONResponse({})


@line_api("richmenu-alias-get")
async def alias_get(request, sim, channel):
    alias_id = request.path_params["aliasId"]
    return JSONResponse({"richMenuAliasId": alias_id, "richMenuId": _alias(store_for(sim, channel), alias_id)})


@line_api("richmenu-alias-update")
async def alias_update(request, sim, channel):
    _, body = await read_json(request)
    errs = sdk_errors(UpdateRichMenuAliasRequest, body)
    if errs:
        raise bad_request(errs)
    store, alias_id = store_for(sim, channel), request.path_params["aliasId"]
    _alias(store, alias_id)
    _linkable(store, body["richMenuId"])
    store.aliases[alias_id] = body["richMenuId"]
    return JSONResponse({})


@line_api("richmenu-alias-delete")
async def alias_delete(request, sim, channel):
    store, alias_id = store_for(sim, channel), request.path_params["aliasId"]
    _alias(store, alias_id)
    del store.aliases[alias_id]
    return JSONResponse({})


@line_api("richmenu-alias-list")
async def alias_list(request, sim, channel):
    aliases = store_for(sim, channel).aliases
    return JSONResponse({"aliases": [{"richMenuAliasId": a, "richMenuId": m} for a, m in aliases.items()]})


RM = "/v2/bot/richmenu"
routes = [  # fixed paths before {richMenuId} so that "list" is not taken for an id
    Route(RM, create, methods=["POST"]),
    Route(f"{RM}/validate", validate, methods=["POST"]),
    Route(f"{RM}/list", list_menus, methods=["GET"]),
    Route(f"{RM}/bulk/link", bulk_link, methods=["POST"]),
    Route(f"{RM}/bulk/unlink", bulk_unlink, methods=["POST"]),
    Route(f"{RM}/batch", batch, methods=["POST"]),
    Route(f"{RM}/validate/batch", batch_validate, methods=["POST"]),
    Route(f"{RM}/progress/batch", batch_progress, methods=["GET"]),
    Route(f"{RM}/alias", alias_create, methods=["POST"]),
    Route(f"{RM}/alias/list", alias_list, methods=["GET"]),
    Route(f"{RM}/alias/{{aliasId}}", alias_get, methods=["GET"]),
    Route(f"{RM}/alias/{{aliasId}}", alias_update, methods=["POST"]),
    Route(f"{RM}/alias/{{aliasId}}", alias_delete, methods=["DELETE"]),
    Route(f"{RM}/{{richMenuId}}", get, methods=["GET"]),
    Route(f"{RM}/{{richMenuId}}", delete, methods=["DELETE"]),
    Route(f"{RM}/{{richMenuId}}/content", upload_image, methods=["POST"]),
    Route(f"{RM}/{{richMenuId}}/content", download_image, methods=["GET"]),
    Route("/v2/bot/user/all/richmenu/{richMenuId}", set_default, methods=["POST"]),
    Route("/v2/bot/user/all/richmenu", get_default, methods=["GET"]),
    Route("/v2/bot/user/all/richmenu", delete_default, methods=["DELETE"]),
    Route("/v2/bot/user/{userId}/richmenu/{richMenuId}", link_user, methods=["POST"]),
    Route("/v2/bot/user/{userId}/richmenu", get_user_menu, methods=["GET"]),
    Route("/v2/bot/user/{userId}/richmenu", unlink_user, methods=["DELETE"]),
]
