"""Message objects: the limits LINE documents per message type."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from . import actions as act
from ._core import (
    MEDIA_URL_MAX,
    Errors,
    FieldError,
    check_scheme,
    int_field,
    join,
    list_field,
    number_field,
    obj_field,
    text_field,
    url_field,
    utf16_len,
)
from .flex import check_flex
from .patterns import SUBSTITUTION_KEY_RE

MAX_MESSAGES = 5
TEXT_MAX = 5000
ALT_TEXT_MAX = 1500
MAX_EMOJIS = 20
MAX_SUBSTITUTIONS = 100
MAX_MENTIONS = 20
QUICK_REPLY_MAX = 13
IMAGEMAP_BASE_WIDTH = 1040
IMAGEMAP_MAX_ACTIONS = 50
TEMPLATE_MAX_COLUMNS = 10

_PLACEHOLDER_RE = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


def check_messages(messages: Any, *, path: str = "messages") -> list[FieldError]:
    """Check a list of 1..5 message objects; return every problem found (empty if none)."""
    errs = Errors()
    if not isinstance(messages, list):
        errs.add(path, "required" if messages is None else "not_list")
        return errs.items
    if not messages:
        errs.add(path, "too_few", min=1, count=0)
    elif len(messages) > MAX_MESSAGES:
        errs.add(path, "too_many", max=MAX_MESSAGES, count=len(messages))
    for i, message in enumerate(messages):
        check_message(errs, message, join(path, i))
    return errs.items


def check_message(errs: Errors, message: Any, path: str) -> None:
    if not isinstance(message, Mapping):
        errs.add(path, "not_object")
        return
    kind = message.get("type")
    checker = _BY_TYPE.get(kind) if isinstance(kind, str) else None
    if checker is None:
        errs.add(join(path, "type"), "required" if kind is None else "unknown_type", type=str(kind))
    else:
        checker(errs, message, path)
    _quick_reply(errs, message, path)
    _sender(errs, message, path)


# -- common properties -------------------------------------------------------------


def _quick_reply(errs: Errors, message: Mapping[str, Any], path: str) -> None:
    quick = obj_field(errs, message, "quickReply", path, required=False)
    if quick is None:
        return
    qpath = join(path, "quickReply")
    items = list_field(errs, quick, "items", qpath, min_items=1, max_items=QUICK_REPLY_MAX)
    for i, item in enumerate(items or []):
        ipath = join(join(qpath, "items"), i)
        if not isinstance(item, Mapping):
            errs.add(ipath, "not_object")
            continue
        if item.get("type", "action") != "action":
            errs.add(join(ipath, "type"), "invalid_choice", choices="action")
        url_field(errs, item, "imageUrl", ipath, required=False)
        act.check_action(errs, item.get("action"), join(ipath, "action"), act.QUICK_REPLY)


def _sender(errs: Errors, message: Mapping[str, Any], path: str) -> None:
    sender = obj_field(errs, message, "sender", path, required=False)
    if sender is None:
        return
    spath = join(path, "sender")
    text_field(errs, sender, "name", spath, max_len=20, required=False)
    url_field(errs, sender, "iconUrl", spath, required=False)


# -- simple types -----------------------------------------------------------------------


def _text(errs: Errors, message: Mapping[str, Any], path: str) -> None:
    text = text_field(errs, message, "text", path, max_len=TEXT_MAX)
    emojis = list_field(errs, message, "emojis", path, max_items=MAX_EMOJIS, required=False)
    if not emojis:
        return
    units = text.encode("utf-16-le") if isinstance(text, str) else b""
    seen: set[int] = set()
    for i, emoji in enumerate(emojis):
        epath = join(join(path, "emojis"), i)
        if not isinstance(emoji, Mapping):
            errs.add(epath, "not_object")
            continue
        text_field(errs, emoji, "productId", epath, max_len=100)
        text_field(errs, emoji, "emojiId", epath, max_len=100)
        index = int_field(errs, emoji, "index", epath, minimum=0)
        if index is None or index < 0:
            continue
        if units[index * 2 : index * 2 + 2] != "$".encode("utf-16-le"):
            errs.add(join(epath, "index"), "emoji_index", index=index)
        elif index in seen:
            errs.add(join(epath, "index"), "emoji_index_duplicate", index=index)
        seen.add(index)


def _text_v2(errs: Errors, message: Mapping[str, Any], path: str) -> None:
    text = text_field(errs, message, "text", path, max_len=TEXT_MAX)
    subs = obj_field(errs, message, "substitution", path, required=False) or {}
    spath = join(path, "substitution")
    if len(subs) > MAX_SUBSTITUTIONS:
        errs.add(spath, "too_many", max=MAX_SUBSTITUTIONS, count=len(subs))
    mentions = emojis = 0
    for key, value in subs.items():
        kpath = join(spath, str(key))
        if not isinstance(key, str) or not SUBSTITUTION_KEY_RE.match(key):
            errs.add(kpath, "substitution_key", key=str(key))
        if not isinstance(value, Mapping):
            errs.add(kpath, "not_object")
            continue
        if value.get("type") == "mention":
            mentions += 1
            _mentionee(errs, value, kpath)
        elif value.get("type") == "emoji":
            emojis += 1
            text_field(errs, value, "productId", kpath, max_len=100)
            text_field(errs, value, "emojiId", kpath, max_len=100)
        else:
            errs.add(join(kpath, "type"), "invalid_choice", choices="mention, emoji")
    if mentions > MAX_MENTIONS:
        errs.add(spath, "too_many_mentions", max=MAX_MENTIONS, count=mentions)
    if emojis > MAX_EMOJIS:
        errs.add(spath, "too_many_emojis", max=MAX_EMOJIS, count=emojis)
    for match in _PLACEHOLDER_RE.finditer(text or ""):
        key = match.group(1)
        if key is not None and key not in subs:
            errs.add(join(path, "text"), "substitution_undefined", key=key)


def _mentionee(errs: Errors, value: Mapping[str, Any], path: str) -> None:
    mentionee = obj_field(errs, value, "mentionee", path)
    if mentionee is None:
        return
    mpath = join(path, "mentionee")
    kind = mentionee.get("type")
    if kind == "user":
        text_field(errs, mentionee, "userId", mpath, max_len=100)
    elif kind != "all":
        errs.add(join(mpath, "type"), "invalid_choice", choices="user, all")


def _sticker(errs: Errors, message: Mapping[str, Any], path: str) -> None:
    text_field(errs, message, "packageId", path, max_len=100)
    text_field(errs, message, "stickerId", path, max_len=100)


def _image(errs: Errors, message: Mapping[str, Any], path: str) -> None:
    url_field(errs, message, "originalContentUrl", path)
    url_field(errs, message, "previewImageUrl", path)


def _video(errs: Errors, message: Mapping[str, Any], path: str) -> None:
    url_field(errs, message, "originalContentUrl", path)
    url_field(errs, message, "previewImageUrl", path)
    text_field(errs, message, "trackingId", path, max_len=100, required=False)


def _audio(errs: Errors, message: Mapping[str, Any], path: str) -> None:
    url_field(errs, message, "originalContentUrl", path)
    int_field(errs, message, "duration", path, minimum=1)


def _location(errs: Errors, message: Mapping[str, Any], path: str) -> None:
    text_field(errs, message, "title", path, max_len=100)
    text_field(errs, message, "address", path, max_len=100)
    number_field(errs, message, "latitude", path, low=-90, high=90)
    number_field(errs, message, "longitude", path, low=-180, high=180)


def _coupon(errs: Errors, message: Mapping[str, Any], path: str) -> None:
    text_field(errs, message, "couponId", path, max_len=100)
    text_field(errs, message, "deliveryTag", path, max_len=30, required=False)


# -- imagemap ------------------------------------------------------------------------------


def _imagemap(errs: Errors, message: Mapping[str, Any], path: str) -> None:
    url_field(errs, message, "baseUrl", path)
    text_field(errs, message, "altText", path, max_len=ALT_TEXT_MAX)
    size = obj_field(errs, message, "baseSize", path)
    width = height = None
    if size is not None:
        bpath = join(path, "baseSize")
        width = int_field(errs, size, "width", bpath)
        height = int_field(errs, size, "height", bpath, minimum=1)
        if width is not None and width != IMAGEMAP_BASE_WIDTH:
            errs.add(join(bpath, "width"), "must_equal", expected=IMAGEMAP_BASE_WIDTH, value=width)
    acts = list_field(errs, message, "actions", path, max_items=IMAGEMAP_MAX_ACTIONS)
    for i, action in enumerate(acts or []):
        _imagemap_action(errs, action, join(join(path, "actions"), i), height)
    video = obj_field(errs, message, "video", path, required=False)
    if video is not None:
        vpath = join(path, "video")
        url_field(errs, video, "originalContentUrl", vpath)
        url_field(errs, video, "previewImageUrl", vpath)
        _area(errs, video, vpath, height)
        link = obj_field(errs, video, "externalLink", vpath, required=False)
        if link is not None:
            lpath = join(vpath, "externalLink")
            _link_uri(errs, link, lpath)
            text_field(errs, link, "label", lpath, max_len=30)


def _imagemap_action(errs: Errors, action: Any, path: str, height: int | None) -> None:
    if not isinstance(action, Mapping):
        errs.add(path, "not_object")
        return
    kind = action.get("type")
    if kind == "uri":
        _link_uri(errs, action, path)
    elif kind == "message":
        text_field(errs, action, "text", path, max_len=400)
    elif kind == "clipboard":
        text_field(errs, action, "clipboardText", path, max_len=1000)
    else:
        errs.add(join(path, "type"), "invalid_choice", choices="uri, message, clipboard")
    text_field(errs, action, "label", path, max_len=100, required=False)
    _area(errs, action, path, height)


def _link_uri(errs: Errors, obj: Mapping[str, Any], path: str) -> None:
    uri = text_field(errs, obj, "linkUri", path, max_len=act.URI_MAX)
    if uri:
        check_scheme(errs, uri, join(path, "linkUri"), act.URI_SCHEMES)


def _area(errs: Errors, obj: Mapping[str, Any], path: str, height: int | None) -> None:
    area = obj_field(errs, obj, "area", path)
    if area is None:
        return
    apath = join(path, "area")
    x = int_field(errs, area, "x", apath, minimum=0)
    y = int_field(errs, area, "y", apath, minimum=0)
    w = int_field(errs, area, "width", apath, minimum=1)
    h = int_field(errs, area, "height", apath, minimum=1)
    if x is None or y is None or w is None or h is None or height is None:
        return
    if x + w > IMAGEMAP_BASE_WIDTH or y + h > height:
        errs.add(apath, "out_of_bounds", width=IMAGEMAP_BASE_WIDTH, height=height)


# -- template -------------------------------------------------------------------------------


def _template(errs: Errors, message: Mapping[str, Any], path: str) -> None:
    text_field(errs, message, "altText", path, max_len=ALT_TEXT_MAX)
    template = obj_field(errs, message, "template", path)
    if template is None:
        return
    tpath = join(path, "template")
    kind = template.get("type")
    checker = _TEMPLATES.get(kind) if isinstance(kind, str) else None
    if checker is None:
        errs.add(join(tpath, "type"), "required" if kind is None else "unknown_type", type=str(kind))
        return
    checker(errs, template, tpath)


def _image_options(errs: Errors, obj: Mapping[str, Any], path: str) -> None:
    for key, choices in (("imageAspectRatio", ("rectangle", "square")), ("imageSize", ("cover", "contain"))):
        value = obj.get(key)
        if value is not None and value not in choices:
            errs.add(join(path, key), "invalid_choice", choices=", ".join(choices))


def _buttons(errs: Errors, template: Mapping[str, Any], path: str) -> None:
    url_field(errs, template, "thumbnailImageUrl", path, required=False)
    _image_options(errs, template, path)
    title = text_field(errs, template, "title", path, max_len=40, required=False)
    busy = bool(title) or template.get("thumbnailImageUrl") is not None
    text_field(errs, template, "text", path, max_len=60 if busy else 160)
    _template_actions(errs, template, path, minimum=1, maximum=4)


def _confirm(errs: Errors, template: Mapping[str, Any], path: str) -> None:
    text_field(errs, template, "text", path, max_len=240)
    acts = list_field(errs, template, "actions", path)
    if acts is not None and len(acts) != 2:
        errs.add(join(path, "actions"), "count_exact", expected=2, count=len(acts))
    for i, action in enumerate(acts or []):
        act.check_action(errs, action, join(join(path, "actions"), i), act.TEMPLATE)


def _template_actions(errs: Errors, obj: Mapping[str, Any], path: str, *, minimum: int, maximum: int) -> int | None:
    acts = list_field(errs, obj, "actions", path, min_items=minimum, max_items=maximum)
    for i, action in enumerate(acts or []):
        act.check_action(errs, action, join(join(path, "actions"), i), act.TEMPLATE)
    if obj.get("defaultAction") is not None:
        act.check_action(errs, obj["defaultAction"], join(path, "defaultAction"), act.TEMPLATE_DEFAULT)
    return None if acts is None else len(acts)


def _carousel(errs: Errors, template: Mapping[str, Any], path: str) -> None:
    _image_options(errs, template, path)
    columns = list_field(errs, template, "columns", path, min_items=1, max_items=TEMPLATE_MAX_COLUMNS)
    first: tuple[int | None, bool, bool] | None = None
    for i, column in enumerate(columns or []):
        cpath = join(join(path, "columns"), i)
        if not isinstance(column, Mapping):
            errs.add(cpath, "not_object")
            continue
        url_field(errs, column, "thumbnailImageUrl", cpath, required=False)
        title = text_field(errs, column, "title", cpath, max_len=40, required=False)
        has_image = column.get("thumbnailImageUrl") is not None
        has_title = title is not None
        text_field(errs, column, "text", cpath, max_len=60 if (has_image or has_title) else 120)
        count = _template_actions(errs, column, cpath, minimum=1, maximum=3)
        if first is None:
            first = (count, has_image, has_title)
            continue
        if count is not None and first[0] is not None and count != first[0]:
            errs.add(join(cpath, "actions"), "uneven_actions", expected=first[0])
        if (has_image, has_title) != first[1:]:
            errs.add(cpath, "uneven_columns")


def _image_carousel(errs: Errors, template: Mapping[str, Any], path: str) -> None:
    columns = list_field(errs, template, "columns", path, min_items=1, max_items=TEMPLATE_MAX_COLUMNS)
    for i, column in enumerate(columns or []):
        cpath = join(join(path, "columns"), i)
        if not isinstance(column, Mapping):
            errs.add(cpath, "not_object")
            continue
        url_field(errs, column, "imageUrl", cpath, max_len=MEDIA_URL_MAX)
        act.check_action(errs, column.get("action"), join(cpath, "action"), act.IMAGE_CAROUSEL)


def _flex(errs: Errors, message: Mapping[str, Any], path: str) -> None:
    text_field(errs, message, "altText", path, max_len=ALT_TEXT_MAX)
    contents = obj_field(errs, message, "contents", path)
    if contents is not None:
        check_flex(errs, contents, join(path, "contents"))


_Checker = Callable[[Errors, Mapping[str, Any], str], None]

_TEMPLATES: dict[str, _Checker] = {
    "buttons": _buttons,
    "confirm": _confirm,
    "carousel": _carousel,
    "image_carousel": _image_carousel,
}

_BY_TYPE: dict[str, _Checker] = {
    "text": _text,
    "textV2": _text_v2,
    "sticker": _sticker,
    "image": _image,
    "video": _video,
    "audio": _audio,
    "location": _location,
    "imagemap": _imagemap,
    "template": _template,
    "flex": _flex,
    "coupon": _coupon,
}

__all__ = ["check_message", "check_messages", "utf16_len"]
