"""LINE emoji a bot may put in a text message: the sets of LINE's "List of available LINE emojis"
(docs/messaging-api/emoji-list). Each set is a product ID; its emoji are numbered 001, 002, ...

In a text message every LINE emoji is a ``$`` in ``text`` plus an entry of ``emojis`` whose ``index`` is that
``$``'s position counted in UTF-16 code units (what a JavaScript string index is, and what LINE counts);
the composer keeps those indices right as the marketer types. Images come from LINE's CDN and are loaded
by the staff member's browser, with the IDs as alt text.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

# (productId, number of emoji in the set), in the order of LINE's list.
PRODUCTS: tuple[tuple[str, int], ...] = (
    ("5ac1bfd5040ab15980c9b435", 212),
    ("5ac1de17040ab15980c9b438", 194),
    ("5ac21184040ab15980c9b43a", 234),
    ("5ac21542031a6752fb806d55", 248),
    ("5ac2173d031a6752fb806d56", 240),
    ("5ac21869040ab15980c9b43b", 199),
    ("5ac218e3040ab15980c9b43c", 221),
    ("5ac2197b040ab15980c9b43d", 201),
    ("5ac21a13031a6752fb806d57", 149),
    ("5ac21a18040ab15980c9b43e", 239),
    ("5ac21a8c040ab15980c9b43f", 149),
    ("5ac21ae3040ab15980c9b440", 149),
    ("5ac21b4f031a6752fb806d59", 149),
    ("5ac21ba5040ab15980c9b441", 161),
    ("5ac21bf9031a6752fb806d5a", 161),
    ("5ac21c46040ab15980c9b442", 221),
    ("5ac21c4e031a6752fb806d5b", 161),
    ("5ac21cc5031a6752fb806d5c", 170),
    ("5ac21cce040ab15980c9b443", 161),
    ("5ac21d59031a6752fb806d5d", 212),
    ("5ac21e6c040ab15980c9b444", 222),
    ("5ac21ef5031a6752fb806d5e", 150),
    ("5ac21f52040ab15980c9b445", 183),
    ("5ac21fda040ab15980c9b446", 140),
    ("5ac2206d031a6752fb806d5f", 252),
    ("5ac220c2031a6752fb806d60", 246),
    ("5ac2211e031a6752fb806d61", 250),
    ("5ac2213e040ab15980c9b447", 182),
    ("5ac2216f040ab15980c9b448", 188),
    ("5ac221ca040ab15980c9b449", 167),
    ("5ac22224031a6752fb806d62", 251),
    ("5ac22293031a6752fb806d63", 184),
    ("5ac222bf031a6752fb806d64", 250),
    ("5ac223c6040ab15980c9b44a", 157),
    ("5ac2264e040ab15980c9b44b", 252),
    ("5ac22775040ab15980c9b44c", 247),
    ("5ac2280f031a6752fb806d65", 250),
    ("5ac22a8c031a6752fb806d66", 210),
    ("5ac22b23040ab15980c9b44d", 247),
    ("5ac22bad031a6752fb806d67", 214),
    ("5ac22c9e031a6752fb806d68", 198),
    ("5ac22d62031a6752fb806d69", 196),
    ("5ac22def040ab15980c9b44e", 250),
    ("5ac22e85040ab15980c9b44f", 209),
    ("670e0cce840a8236ddd4ee4c", 211),
)
_COUNTS = dict(PRODUCTS)

IMAGE_URL = "https://stickershop.line-scdn.net/sticonshop/v1/sticon/{product_id}/android/{emoji_id}.png"
MAX_PER_MESSAGE = 20


def emoji_id(n: int) -> str:
    """LINE numbers the emoji of a set 001, 002, ..."""
    return f"{n:03d}"


def image_url(product_id: str, emoji: str) -> str:
    return IMAGE_URL.format(product_id=product_id, emoji_id=emoji)


def is_sendable(product_id: Any, emoji: Any) -> bool:
    count = _COUNTS.get(product_id) if isinstance(product_id, str) else None
    if count is None or not isinstance(emoji, str) or len(emoji) != 3 or not emoji.isdigit():
        return False
    return 1 <= int(emoji) <= count


def catalogue() -> list[dict]:
    return [{"productId": pid, "count": count} for pid, count in PRODUCTS]


def utf16_index(text: str, position: int) -> int:
    """The UTF-16 index of the Python character at ``position`` (characters outside the BMP count two)."""
    return len(text[:position].encode("utf-16-le")) // 2


def text_with_emoji(text: str, emojis: list[tuple[str, str]]) -> tuple[str, list[dict]]:
    """Build LINE's ``text`` + ``emojis`` from text where each ``$`` in order is one of ``emojis`` (the
    inverse of what the composer does in the browser; used by tests and the API docs' examples)."""
    out, index, n = [], [], 0
    for pos, ch in enumerate(text):
        if ch == "$" and n < len(emojis):
            product, emoji = emojis[n]
            index.append({"index": utf16_index(text, pos), "productId": product, "emojiId": emoji})
            n += 1
        out.append(ch)
    return "".join(out), index


def emoji_errors(messages: Any) -> dict[str, list[str]]:
    """LINE emoji that are not on LINE's list (text ``emojis`` and textV2 emoji substitutions), by path."""
    errors: dict[str, list[str]] = {}
    if not isinstance(messages, list):
        return errors
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            continue
        if message.get("type") == "text" and isinstance(message.get("emojis"), list):
            entries = [(f"messages[{i}].emojis[{j}]", e) for j, e in enumerate(message["emojis"])]
        elif message.get("type") == "textV2" and isinstance(message.get("substitution"), dict):
            entries = [
                (f"messages[{i}].substitution.{k}", v)
                for k, v in message["substitution"].items()
                if isinstance(v, dict) and v.get("type") == "emoji"
            ]
        else:
            continue
        for path, entry in entries:
            if not isinstance(entry, dict) or not entry.get("productId") or not entry.get("emojiId"):
                continue  # lineapi.limits reports missing fields
            if not is_sendable(entry["productId"], entry["emojiId"]):
                errors[path] = [
                    _("This LINE emoji (%(product)s/%(emoji)s) is not on LINE's list of emoji bots may send.")
                    % {"product": entry["productId"], "emoji": entry["emojiId"]}
                ]
    return errors
