"""Flex containers: JSON size caps, carousel shape, and every action and media URL inside."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from . import actions as act
from ._core import Errors, join, list_field, url_field

# LINE gives these as "30 KB" and "50 KB" of JSON; we read KB as 1,000 bytes so a
# message we pass can never be one LINE rejects.
BUBBLE_MAX_BYTES = 30_000
CAROUSEL_MAX_BYTES = 50_000
CAROUSEL_MAX_BUBBLES = 12
BUBBLE_SIZES = ("nano", "micro", "deca", "hecto", "kilo", "mega", "giga")

_MEDIA_KEYS = {"image": ("url",), "icon": ("url",), "video": ("url", "previewUrl")}


def json_size(value: Any) -> int:
    """Size of ``value`` as compact UTF-8 JSON, the way LINE measures Flex payloads."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def check_flex(errs: Errors, container: Mapping[str, Any], path: str) -> None:
    kind = container.get("type")
    if kind == "bubble":
        _size_cap(errs, container, path, BUBBLE_MAX_BYTES)
        _bubble(errs, container, path)
    elif kind == "carousel":
        _size_cap(errs, container, path, CAROUSEL_MAX_BYTES)
        bubbles = list_field(errs, container, "contents", path, min_items=1, max_items=CAROUSEL_MAX_BUBBLES)
        sizes = set()
        for i, bubble in enumerate(bubbles or []):
            bpath = join(join(path, "contents"), i)
            if not isinstance(bubble, Mapping) or bubble.get("type") != "bubble":
                errs.add(join(bpath, "type"), "invalid_choice", choices="bubble")
                continue
            _size_cap(errs, bubble, bpath, BUBBLE_MAX_BYTES)
            sizes.add(bubble.get("size", "mega"))
            _bubble(errs, bubble, bpath)
        if len(sizes) > 1:
            errs.add(join(path, "contents"), "mixed_bubble_sizes")
    else:
        errs.add(join(path, "type"), "required" if kind is None else "invalid_choice", choices="bubble, carousel")


def _size_cap(errs: Errors, value: Mapping[str, Any], path: str, limit: int) -> None:
    size = json_size(value)
    if size > limit:
        errs.add(path, "json_too_large", size=size, max=limit)


def _bubble(errs: Errors, bubble: Mapping[str, Any], path: str) -> None:
    size = bubble.get("size")
    if size is not None and size not in BUBBLE_SIZES:
        errs.add(join(path, "size"), "invalid_choice", choices=", ".join(BUBBLE_SIZES))
    _walk(errs, bubble, path)


def _walk(errs: Errors, node: Any, path: str) -> None:
    """Visit every component: check its action (by context) and its media URLs."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            _walk(errs, item, join(path, i))
        return
    if not isinstance(node, Mapping):
        return
    kind = node.get("type")
    for key in _MEDIA_KEYS.get(kind, ()) if isinstance(kind, str) else ():
        url_field(errs, node, key, path)
    if kind == "button" and node.get("action") is None:
        errs.add(join(path, "action"), "required")
    for key, value in node.items():
        if key == "action":
            context = act.FLEX_BUTTON if kind == "button" else act.FLEX
            act.check_action(errs, value, join(path, key), context)
        elif isinstance(value, (Mapping, list)):
            _walk(errs, value, join(path, key))
