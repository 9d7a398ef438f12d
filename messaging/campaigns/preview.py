"""Turn LINE message objects into simple display items for the phone preview template (no HTML here)."""

from __future__ import annotations

import re
from typing import Any

from . import emoji, stickers

SAMPLE_NAME = "Aiko"


def _flex_nodes(node: Any, out: list[dict], depth: int = 0) -> None:
    """Flatten a Flex tree into text, image and button items, in reading order."""
    if not isinstance(node, dict) or depth > 12 or len(out) > 60:
        return
    kind = node.get("type")
    if kind == "carousel":
        for bubble in node.get("contents") or []:
            out.append({"kind": "separator"})
            _flex_nodes(bubble, out, depth + 1)
        return
    if kind == "bubble":
        for part in ("header", "hero", "body", "footer"):
            _flex_nodes(node.get(part), out, depth + 1)
        return
    if kind == "text":
        out.append(
            {
                "kind": "text",
                "text": node.get("text")
                or "".join(s.get("text", "") for s in node.get("contents") or [] if isinstance(s, dict)),
                "bold": node.get("weight") == "bold",
            }
        )
    elif kind == "image":
        out.append({"kind": "image", "url": node.get("url", "")})
    elif kind == "button":
        out.append({"kind": "button", "text": (node.get("action") or {}).get("label", "")})
    for child in node.get("contents") or []:
        if isinstance(child, dict) and kind not in ("text",):
            _flex_nodes(child, out, depth + 1)


def _labels(actions) -> list[str]:
    return [str((a or {}).get("label") or (a or {}).get("text") or "…") for a in actions or [] if isinstance(a, dict)]


def display_items(messages: Any, *, personalize: bool = False) -> list[dict]:
    items: list[dict] = []
    if not isinstance(messages, list):
        return items
    for i, m in enumerate(messages[:5]):
        if not isinstance(m, dict):
            continue
        item: dict = {"index": i, "type": m.get("type", ""), "sender": m.get("sender") or {}}
        kind = item["type"]
        if kind == "text":
            item["parts"] = text_parts(str(m.get("text", "")), m.get("emojis"), personalize=personalize)
        elif kind == "textV2":
            item["parts"] = text_v2_parts(str(m.get("text", "")), m.get("substitution"))
        elif kind == "sticker":
            item.update(
                package=m.get("packageId"),
                sticker=m.get("stickerId"),
                url=stickers.image_url(m["stickerId"])
                if stickers.is_sendable(m.get("packageId"), m.get("stickerId"))
                else "",
            )
        elif kind in ("image", "video"):
            item["url"] = m.get("previewImageUrl", "")
        elif kind == "audio":
            item["seconds"] = round((m.get("duration") or 0) / 1000)
        elif kind == "location":
            item.update(title=m.get("title", ""), address=m.get("address", ""))
        elif kind == "imagemap":
            item.update(url=(m.get("baseUrl") or "") + "/700", alt=m.get("altText", ""))
        elif kind == "template":
            t = m.get("template") or {}
            item["template"] = t.get("type", "")
            item["columns"] = [
                {
                    "title": c.get("title", ""),
                    "text": c.get("text", ""),
                    "image": c.get("thumbnailImageUrl") or c.get("imageUrl", ""),
                    "actions": _labels(c.get("actions") or [c.get("action")]),
                }
                for c in (t.get("columns") or [t])
                if isinstance(c, dict)
            ][:10]
        elif kind == "flex":
            nodes: list[dict] = []
            _flex_nodes(m.get("contents"), nodes)
            item.update(nodes=nodes, alt=m.get("altText", ""))
        elif kind == "coupon":
            item["coupon"] = m.get("couponId", "")
        quick = (m.get("quickReply") or {}).get("items") or []
        item["quick"] = [str(((q or {}).get("action") or {}).get("label", "")) for q in quick if isinstance(q, dict)]
        items.append(item)
    if items:
        for item in items[:-1]:
            item["quick"] = []  # LINE shows only the last message's quick reply
    return items


def _emoji_part(product: Any, emoji_id: Any) -> dict:
    ok = isinstance(product, str) and isinstance(emoji_id, str) and product.isalnum() and emoji_id.isalnum()
    return {
        "emoji": f"{product}/{emoji_id}",
        "short": str(emoji_id),
        "url": emoji.image_url(product, emoji_id) if ok else "",
    }


def text_parts(text: str, emojis: Any, *, personalize: bool = False) -> list[dict]:
    """Text split into runs of text and LINE emoji images, placing each emoji at its UTF-16 ``index``.

    A ``$`` no emoji points at stays a dollar sign, as it does on LINE.
    """
    by_unit: dict[int, dict] = {}
    for e in emojis if isinstance(emojis, list) else []:
        if isinstance(e, dict) and isinstance(e.get("index"), int):
            by_unit[e["index"]] = e
    parts: list[dict] = []
    run: list[str] = []
    unit = 0
    for ch in text:
        e = by_unit.get(unit) if ch == "$" else None
        if e is not None:
            parts.append({"text": "".join(run)})
            parts.append(_emoji_part(e.get("productId"), e.get("emojiId")))
            run = []
        else:
            run.append(ch)
        unit += 2 if ord(ch) > 0xFFFF else 1
    parts.append({"text": "".join(run)})
    if personalize:
        for part in parts:
            if "text" in part:
                part["text"] = part["text"].replace("{name}", SAMPLE_NAME)
    return [p for p in parts if p.get("text") != ""]


_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([0-9A-Za-z_]{1,20})\}")


def text_v2_parts(text: str, substitution: Any) -> list[dict]:
    """textV2: ``{key}`` becomes its emoji image or ``@mention``; ``{{``/``}}`` are literal braces."""
    subs = substitution if isinstance(substitution, dict) else {}
    parts: list[dict] = []
    pos = 0
    for match in _PLACEHOLDER.finditer(text):
        parts.append({"text": text[pos : match.start()]})
        pos = match.end()
        key = match.group(1)
        if key is None:
            parts.append({"text": match.group(0)[0]})
            continue
        value = subs.get(key)
        if key == "name" and value is None:
            parts.append({"text": SAMPLE_NAME})
        elif isinstance(value, dict) and value.get("type") == "emoji":
            parts.append(_emoji_part(value.get("productId"), value.get("emojiId")))
        elif isinstance(value, dict) and value.get("type") == "mention":
            mentionee = value.get("mentionee") or {}
            parts.append({"mention": "@All" if mentionee.get("type") == "all" else "@" + SAMPLE_NAME})
        else:
            parts.append({"text": match.group(0)})
    parts.append({"text": text[pos:]})
    return [p for p in parts if p.get("text") != ""]
