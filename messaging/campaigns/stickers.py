"""The stickers a bot may send: LINE's "List of available stickers" (docs/messaging-api/sticker-list).

A sticker message whose packageId/stickerId is not on that list is refused by LINE, so the composer offers
only these and flags anything else. The images come from LINE's sticker CDN and are loaded by the staff
member's browser (never by our server); the IDs are the alt text, so the picker still works offline.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

# packageId -> (first stickerId, last stickerId), both inclusive, in the order of LINE's list.
PACKAGES: dict[int, tuple[int, int]] = {
    446: (1988, 2027),
    789: (10855, 10894),
    1070: (17839, 17878),
    6136: (10551376, 10551399),
    6325: (10979904, 10979927),
    6359: (11069848, 11069871),
    6362: (11087920, 11087943),
    6370: (11088016, 11088039),
    6632: (11825374, 11825397),
    8515: (16581242, 16581265),
    8522: (16581266, 16581289),
    8525: (16581290, 16581313),
    11537: (52002734, 52002773),
    11538: (51626494, 51626533),
    11539: (52114110, 52114149),
}

IMAGE_URL = "https://stickershop.line-scdn.net/stickershop/v1/sticker/{sticker_id}/android/sticker.png"
DEFAULT = (446, 1988)


def image_url(sticker_id: int | str) -> str:
    return IMAGE_URL.format(sticker_id=int(sticker_id))


def sticker_ids(package_id: int) -> list[int]:
    first, last = PACKAGES[package_id]
    return list(range(first, last + 1))


def is_sendable(package_id: Any, sticker_id: Any) -> bool:
    try:
        first, last = PACKAGES[int(package_id)]
        return first <= int(sticker_id) <= last
    except (KeyError, TypeError, ValueError):
        return False


def catalogue() -> list[dict]:
    """What the picker shows: every package with its sticker IDs (the browser builds the image URLs)."""
    return [{"packageId": str(pkg), "first": first, "last": last} for pkg, (first, last) in PACKAGES.items()]


def sticker_errors(messages: Any) -> dict[str, list[str]]:
    """Sticker messages that LINE would refuse because the sticker is not on its list, keyed by path."""
    errors: dict[str, list[str]] = {}
    if not isinstance(messages, list):
        return errors
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("type") != "sticker":
            continue
        package, sticker = message.get("packageId"), message.get("stickerId")
        if package in (None, "") or sticker in (None, ""):
            continue  # lineapi.limits already says the field is required
        if not is_sendable(package, sticker):
            errors[f"messages[{i}].stickerId"] = [
                _("Sticker %(package)s/%(sticker)s is not one LINE lets bots send. Pick one from the list.")
                % {"package": package, "sticker": sticker}
            ]
    return errors
