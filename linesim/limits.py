"""LINE's documented limits that the OpenAPI spec (and so the SDK's models) does not carry.

Each check walks the raw request dict and appends LINE-style error details
(``{"message", "property"}``) to ``errs``.  Numbers come from the Messaging API
reference (message objects, action objects, rich menu object); see README.md.
"""

from __future__ import annotations

import json
import re

from .errors import detail
from .validation import join

USER_ID = re.compile(r"^U[0-9a-f]{32}$")
PUSH_TO = re.compile(r"^[UCR][0-9a-f]{32}$")  # a user, group or room
AGGREGATION_UNIT = re.compile(r"^[a-zA-Z0-9_]{1,30}$")
TEXTV2_KEY = re.compile(r"^[0-9a-zA-Z_]{1,20}$")
ALT_TEXT_MAX = 1500
URL_MAX = 2000
FLEX_BUBBLE_MAX_BYTES = 30 * 1024
FLEX_CAROUSEL_MAX_BYTES = 50 * 1024
URI_SCHEMES = ("http://", "https://", "line://", "tel:")


# -- primitives ------------------------------------------------------------------------------
def utf16_len(text: str) -> int:
    """LINE counts text length in UTF-16 code units (an emoji outside the BMP counts 2)."""
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def max_len(errs, obj, key, limit, path, *, required=False, low=0):
    value = obj.get(key)
    if value is None:
        if required:
            errs.append(detail(join(path, key), "must be specified"))
        return
    if not isinstance(value, str):
        return  # the SDK models report type errors
    if required and value == "":
        errs.append(detail(join(path, key), "May not be empty"))
        return
    n = len(value)
    if n > limit // 2:  # only then can surrogate pairs push the UTF-16 length over the limit
        n = utf16_len(value)
    if not low <= n <= limit:
        errs.append(detail(join(path, key), f"Length must be between {low} and {limit}"))


def https_url(errs, obj, key, path, *, limit=URL_MAX):
    value = obj.get(key)
    if not isinstance(value, str):
        return
    if not value.lower().startswith("https://"):
        errs.append(detail(join(path, key), "must be a valid HTTPS URL"))
    elif len(value) > limit:
        errs.append(detail(join(path, key), f"Length must be between 0 and {limit}"))


def items(obj, key) -> list:
    """obj[key] if it is a list, else [] (bodies may be malformed when these checks run)."""
    value = obj.get(key)
    return value if isinstance(value, list) else []


def size_between(errs, obj, key, low, high, path):
    value = obj.get(key)
    if isinstance(value, list) and not low <= len(value) <= high:
        errs.append(detail(join(path, key), f"Size must be between {low} and {high}"))


# -- actions ------------------------------------------------------------------------------------
def check_action(errs, action, path, *, label_limit=20, label_required=False):
    if not isinstance(action, dict):
        return
    kind = action.get("type")
    if kind in (
        "uri",
        "message",
        "postback",
        "datetimepicker",
        "camera",
        "cameraRoll",
        "location",
        "richmenuswitch",
        "clipboard",
    ):
        max_len(errs, action, "label", label_limit, path, required=label_required)
    if kind == "postback":
        for key in ("data", "displayText", "text", "fillInText"):
            max_len(errs, action, key, 300, path)
        if action.get("text") is not None and action.get("displayText") is not None:
            errs.append(detail(join(path, "text"), "cannot be used together with displayText"))
    elif kind == "message":
        max_len(errs, action, "text", 300, path, required=True)
    elif kind == "uri":
        check_uri(errs, action, "uri", path)
        if isinstance(action.get("altUri"), dict):
            check_uri(errs, action["altUri"], "desktop", join(path, "altUri"))
    elif kind == "datetimepicker":
        max_len(errs, action, "data", 300, path)
    elif kind == "richmenuswitch":
        max_len(errs, action, "data", 300, path, required=True)
        max_len(errs, action, "richMenuAliasId", 32, path, required=True)
    elif kind == "clipboard":
        max_len(errs, action, "clipboardText", 1000, path, required=True, low=1)


def check_uri(errs, obj, key, path, limit=1000):
    value = obj.get(key)
    if not isinstance(value, str):
        return
    if len(value) > limit:
        errs.append(detail(join(path, key), f"Length must be between 0 and {limit}"))
    elif not value.lower().startswith(URI_SCHEMES):
        errs.append(detail(join(path, key), "invalid uri scheme (http, https, line or tel)"))


def check_actions(errs, obj, key, path, **kwargs):
    actions = obj.get(key)
    if isinstance(actions, list):
        for i, action in enumerate(actions):
            check_action(errs, action, join(join(path, key), i), **kwargs)


# -- messages -------------------------------------------------------------------------------------
def check_messages(messages, prefix="messages") -> list[dict]:
    errs: list[dict] = []
    if not isinstance(messages, list):
        return errs
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            continue
        path = f"{prefix}[{i}]"
        checker = _BY_TYPE.get(message.get("type"))
        if checker:
            checker(errs, message, path)
        _check_common(errs, message, path)
    return errs


def _check_common(errs, message, path):
    quick = message.get("quickReply")
    if isinstance(quick, dict) and isinstance(quick.get("items"), list):
        size_between(errs, quick, "items", 1, 13, join(path, "quickReply"))
        for i, item in enumerate(quick["items"]):
            if isinstance(item, dict):
                item_path = join(join(join(path, "quickReply"), "items"), i)
                https_url(errs, item, "imageUrl", item_path)
                check_action(errs, item.get("action"), join(item_path, "action"), label_required=True)
    sender = message.get("sender")
    if isinstance(sender, dict):
        max_len(errs, sender, "name", 20, join(path, "sender"))
        https_url(errs, sender, "iconUrl", join(path, "sender"))


def _text(errs, m, path):
    max_len(errs, m, "text", 5000, path, required=True)
    emojis = m.get("emojis")
    if isinstance(emojis, list):
        size_between(errs, m, "emojis", 0, 20, path)
        text = m.get("text")
        units = text.encode("utf-16-le", "surrogatepass") if isinstance(text, str) else b""
        for i, emoji in enumerate(emojis):
            index = emoji.get("index") if isinstance(emoji, dict) else None
            if isinstance(index, int) and units[index * 2 : index * 2 + 2] != b"$\x00":
                errs.append(
                    detail(join(join(join(path, "emojis"), i), "index"), "must point at a '$' placeholder in text")
                )


def _text_v2(errs, m, path):
    max_len(errs, m, "text", 5000, path, required=True)
    subs = m.get("substitution")
    if isinstance(subs, dict):
        if len(subs) > 100:
            errs.append(detail(join(path, "substitution"), "Size must be between 0 and 100"))
        for key in subs:
            if not TEXTV2_KEY.match(key):
                errs.append(detail(join(join(path, "substitution"), key), "invalid key"))


def _image(errs, m, path):
    https_url(errs, m, "originalContentUrl", path)
    https_url(errs, m, "previewImageUrl", path)


def _video(errs, m, path):
    _image(errs, m, path)
    max_len(errs, m, "trackingId", 100, path)


def _audio(errs, m, path):
    https_url(errs, m, "originalContentUrl", path)


def _location(errs, m, path):
    max_len(errs, m, "title", 100, path)
    max_len(errs, m, "address", 100, path)


def _imagemap(errs, m, path):
    max_len(errs, m, "altText", ALT_TEXT_MAX, path, required=True)
    https_url(errs, m, "baseUrl", path)
    size_between(errs, m, "actions", 0, 50, path)
    for i, action in enumerate(items(m, "actions")):
        if not isinstance(action, dict):
            continue
        apath = join(join(path, "actions"), i)
        max_len(errs, action, "label", 100, apath)
        max_len(errs, action, "text", 400, apath)
        max_len(errs, action, "clipboardText", 1000, apath)
        check_uri(errs, action, "linkUri", apath)
    video = m.get("video")
    if isinstance(video, dict):
        _image(errs, video, join(path, "video"))
        if isinstance(video.get("externalLink"), dict):
            max_len(errs, video["externalLink"], "label", 30, join(join(path, "video"), "externalLink"))


def _template(errs, m, path):
    max_len(errs, m, "altText", ALT_TEXT_MAX, path, required=True)
    template = m.get("template")
    if not isinstance(template, dict):
        return
    tpath = join(path, "template")
    kind = template.get("type")
    if kind == "buttons":
        _buttons_like(errs, template, tpath, text_max=160, actions_max=4)
    elif kind == "confirm":
        max_len(errs, template, "text", 240, tpath, required=True)
        size_between(errs, template, "actions", 2, 2, tpath)
        check_actions(errs, template, "actions", tpath, label_required=True)
    elif kind == "carousel":
        _carousel(errs, template, tpath)
    elif kind == "image_carousel":
        size_between(errs, template, "columns", 1, 10, tpath)
        for i, column in enumerate(items(template, "columns")):
            if isinstance(column, dict):
                cpath = join(join(tpath, "columns"), i)
                https_url(errs, column, "imageUrl", cpath)
                check_action(errs, column.get("action"), join(cpath, "action"), label_limit=12)


def _buttons_like(errs, obj, path, *, text_max, actions_max):
    """Buttons templates and carousel columns share these rules."""
    https_url(errs, obj, "thumbnailImageUrl", path)
    max_len(errs, obj, "title", 40, path)
    with_header = obj.get("thumbnailImageUrl") or obj.get("title")
    max_len(errs, obj, "text", 60 if with_header else text_max, path, required=True)
    size_between(errs, obj, "actions", 1, actions_max, path)
    check_actions(errs, obj, "actions", path, label_required=True)
    if isinstance(obj.get("defaultAction"), dict):
        check_action(errs, obj["defaultAction"], join(path, "defaultAction"))


def _carousel(errs, template, path):
    size_between(errs, template, "columns", 1, 10, path)
    columns = [c for c in items(template, "columns") if isinstance(c, dict)]
    for i, column in enumerate(columns):
        _buttons_like(errs, column, join(join(path, "columns"), i), text_max=120, actions_max=3)
    if len({len(items(c, "actions")) for c in columns}) > 1:
        errs.append(detail(join(path, "columns"), "all columns must have the same number of actions"))
    if len({(bool(c.get("thumbnailImageUrl")), bool(c.get("title"))) for c in columns}) > 1:
        errs.append(detail(join(path, "columns"), "all columns must use the same image and title settings"))


def _flex(errs, m, path):
    max_len(errs, m, "altText", ALT_TEXT_MAX, path, required=True)
    contents = m.get("contents")
    if not isinstance(contents, dict):
        return
    cpath = join(path, "contents")
    size = len(json.dumps(contents, ensure_ascii=False, separators=(",", ":")).encode())
    if contents.get("type") == "carousel":
        size_between(errs, contents, "contents", 1, 12, cpath)
        if size > FLEX_CAROUSEL_MAX_BYTES:
            errs.append(detail(cpath, "carousel JSON must be at most 50 KB"))
        bubbles = [b for b in items(contents, "contents") if isinstance(b, dict)]
        if len({b.get("size", "mega") for b in bubbles}) > 1:
            errs.append(detail(cpath, "all bubbles in a carousel must have the same size"))
    elif size > FLEX_BUBBLE_MAX_BYTES:
        errs.append(detail(cpath, "bubble JSON must be at most 30 KB"))
    _walk_flex(errs, contents, cpath)


def _walk_flex(errs, node, path):
    """Media URLs must be HTTPS; button labels may be 40 long, other action labels 20."""
    if isinstance(node, list):
        for i, child in enumerate(node):
            _walk_flex(errs, child, join(path, i))
        return
    if not isinstance(node, dict):
        return
    if node.get("type") in ("image", "icon", "video"):
        https_url(errs, node, "url", path)
        https_url(errs, node, "previewUrl", path)
    if isinstance(node.get("action"), dict):
        limit = 40 if node.get("type") == "button" else 20
        check_action(
            errs, node["action"], join(path, "action"), label_limit=limit, label_required=node.get("type") == "button"
        )
    for key, value in node.items():
        if key != "action" and isinstance(value, (dict, list)):
            _walk_flex(errs, value, join(path, key))


_BY_TYPE = {
    "text": _text,
    "textV2": _text_v2,
    "image": _image,
    "video": _video,
    "audio": _audio,
    "location": _location,
    "imagemap": _imagemap,
    "template": _template,
    "flex": _flex,
}


# -- recipients and send options ------------------------------------------------------------------
def check_user_ids(errs, value, path, *, pattern=USER_ID, low=1, high=500):
    """A list of user ids: size and format (LINE rejects the whole request on one bad id)."""
    if not isinstance(value, list):
        errs.append(detail(path, "must be specified" if value is None else "must be an array"))
        return
    if not low <= len(value) <= high:
        errs.append(detail(path, f"Size must be between {low} and {high}"))
    match = pattern.match
    for i, uid in enumerate(value):
        if not (isinstance(uid, str) and match(uid)):
            errs.append(detail(join(path, i), "invalid user ID"))
            if len(errs) >= 20:
                break


def check_aggregation_units(errs, body):
    units = body.get("customAggregationUnits")
    if not isinstance(units, list):
        return
    if len(units) > 1:
        errs.append(detail("customAggregationUnits", "Size must be between 0 and 1"))
    for i, unit in enumerate(units):
        if isinstance(unit, str) and not AGGREGATION_UNIT.match(unit):
            errs.append(detail(f"customAggregationUnits[{i}]", "must match ^[a-zA-Z0-9_]{1,30}$"))


# -- rich menus --------------------------------------------------------------------------------------
RICH_MENU_REQUIRED = ("size", "selected", "name", "chatBarText", "areas")


def check_rich_menu(body: dict) -> list[dict]:
    """Rich menu object rules (the SDK model makes every field optional)."""
    errs: list[dict] = []
    for key in RICH_MENU_REQUIRED:
        if body.get(key) is None:
            errs.append(detail(key, "must be specified"))
    size = body.get("size") if isinstance(body.get("size"), dict) else {}
    width, height = size.get("width"), size.get("height")
    if isinstance(width, int) and not 800 <= width <= 2500:
        errs.append(detail("size.width", "must be between 800 and 2500"))
    if isinstance(height, int) and height < 250:
        errs.append(detail("size.height", "must be at least 250"))
    if isinstance(width, int) and isinstance(height, int) and height > 0 and width / height < 1.45:
        errs.append(detail("size", "aspect ratio (width / height) must be at least 1.45"))
    max_len(errs, body, "name", 300, "")
    max_len(errs, body, "chatBarText", 14, "")
    size_between(errs, body, "areas", 0, 20, "")
    for i, area in enumerate(items(body, "areas")):
        if isinstance(area, dict):
            _check_area(errs, area, f"areas[{i}]", width, height)
    return errs


def _check_area(errs, area, path, width, height):
    bounds = area.get("bounds") if isinstance(area.get("bounds"), dict) else {}
    x, y = bounds.get("x", 0), bounds.get("y", 0)
    w, h = bounds.get("width", 0), bounds.get("height", 0)
    numbers = all(isinstance(v, int) for v in (x, y, w, h, width, height))
    if numbers and (x < 0 or y < 0 or x + w > width or y + h > height):
        errs.append(detail(join(path, "bounds"), "must be inside the rich menu size"))
    check_action(errs, area.get("action"), join(path, "action"))
