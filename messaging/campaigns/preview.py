"""Turn LINE message objects into simple display items for the phone preview template (no HTML here)."""

from __future__ import annotations

from typing import Any

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
        out.append({"kind": "text", "text": node.get("text") or "".join(
            s.get("text", "") for s in node.get("contents") or [] if isinstance(s, dict)),
            "bold": node.get("weight") == "bold"})
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
        if kind in ("text", "textV2"):
            text = str(m.get("text", ""))
            item["text"] = text.replace("{name}", SAMPLE_NAME) if personalize or kind == "textV2" else text
        elif kind == "sticker":
            item.update(package=m.get("packageId"), sticker=m.get("stickerId"))
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
                {"title": c.get("title", ""), "text": c.get("text", ""), "image": c.get("thumbnailImageUrl")
                 or c.get("imageUrl", ""), "actions": _labels(c.get("actions") or [c.get("action")])}
                for c in (t.get("columns") or [t]) if isinstance(c, dict)
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
