"""Rich menu objects and images, and rich menu alias IDs."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from . import actions as act
from ._core import Errors, FieldError, int_field, join, list_field, obj_field, text_field
from .patterns import ALIAS_ID_RE

MIN_WIDTH = 800
MAX_WIDTH = 2500
MIN_HEIGHT = 250
MIN_RATIO = 1.45
NAME_MAX = 300
CHAT_BAR_TEXT_MAX = 14
MAX_AREAS = 20
# "1 MB" in LINE's reference; read as 1,000,000 bytes so nothing we pass is rejected.
IMAGE_MAX_BYTES = 1_000_000

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def check_rich_menu(menu: Any) -> list[FieldError]:
    """Check a rich menu object (the body of create/validate) against LINE's limits."""
    errs = Errors()
    if not isinstance(menu, Mapping):
        errs.add("", "not_object")
        return errs.items
    width, height = _size(errs, menu)
    selected = menu.get("selected")
    if selected is None:
        errs.add("selected", "required")
    elif not isinstance(selected, bool):
        errs.add("selected", "not_boolean")
    text_field(errs, menu, "name", "", max_len=NAME_MAX)
    text_field(errs, menu, "chatBarText", "", max_len=CHAT_BAR_TEXT_MAX)
    areas = list_field(errs, menu, "areas", "", min_items=1, max_items=MAX_AREAS)
    for i, area in enumerate(areas or []):
        _area(errs, area, join("areas", i), width, height)
    return errs.items


def _size(errs: Errors, menu: Mapping[str, Any]) -> tuple[int | None, int | None]:
    size = obj_field(errs, menu, "size", "")
    if size is None:
        return None, None
    width = int_field(errs, size, "width", "size")
    height = int_field(errs, size, "height", "size")
    if width is not None:
        if width < MIN_WIDTH:
            errs.add("size.width", "too_small", min=MIN_WIDTH, value=width)
        elif width > MAX_WIDTH:
            errs.add("size.width", "too_large", max=MAX_WIDTH, value=width)
    if height is not None and height < MIN_HEIGHT:
        errs.add("size.height", "too_small", min=MIN_HEIGHT, value=height)
    if width and height and height > 0 and width / height < MIN_RATIO:
        errs.add("size", "aspect_ratio", min=MIN_RATIO, ratio=round(width / height, 3))
    return width, height


def _area(errs: Errors, area: Any, path: str, width: int | None, height: int | None) -> None:
    if not isinstance(area, Mapping):
        errs.add(path, "not_object")
        return
    bounds = obj_field(errs, area, "bounds", path)
    if bounds is not None:
        bpath = join(path, "bounds")
        x = int_field(errs, bounds, "x", bpath, minimum=0)
        y = int_field(errs, bounds, "y", bpath, minimum=0)
        w = int_field(errs, bounds, "width", bpath, minimum=1)
        h = int_field(errs, bounds, "height", bpath, minimum=1)
        if (
            x is not None
            and y is not None
            and w is not None
            and h is not None
            and width
            and height
            and (x + w > width or y + h > height)
        ):
            errs.add(bpath, "out_of_bounds", width=width, height=height)
    act.check_action(errs, area.get("action"), join(path, "action"), act.RICH_MENU)


def check_rich_menu_image(
    data: bytes,
    content_type: str,
    expected_size: tuple[int, int] | None = None,
    *,
    path: str = "image",
) -> list[FieldError]:
    """Check an upload: JPEG or PNG by its first bytes, at most 1 MB, and (if given)
    exactly ``expected_size`` = (width, height) of the menu it belongs to."""
    errs = Errors()
    actual = _sniff(data)
    if actual is None:
        errs.add(path, "image_format")
        return errs.items
    declared = (content_type or "").split(";")[0].strip().lower()
    if declared not in ("image/jpeg", "image/png"):
        errs.add(path, "content_type", content_type=content_type or "none")
    elif declared != actual:
        errs.add(path, "content_type_mismatch", actual=actual, declared=declared)
    if len(data) > IMAGE_MAX_BYTES:
        errs.add(path, "file_too_large", size=len(data), max=IMAGE_MAX_BYTES)
    dimensions = _dimensions(data)
    if dimensions is None:
        errs.add(path, "image_unreadable")
    elif expected_size is not None and tuple(dimensions) != tuple(expected_size):
        errs.add(
            path,
            "image_size",
            width=dimensions[0],
            height=dimensions[1],
            expected_width=expected_size[0],
            expected_height=expected_size[1],
        )
    return errs.items


def _sniff(data: bytes) -> str | None:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        return None
    head = bytes(data[:8])
    if head.startswith(_JPEG_MAGIC):
        return "image/jpeg"
    if head.startswith(_PNG_MAGIC):
        return "image/png"
    return None


def _dimensions(data: bytes) -> tuple[int, int] | None:
    from PIL import Image, UnidentifiedImageError  # heavy import, needed only here

    try:
        with Image.open(io.BytesIO(bytes(data))) as image:
            if image.format not in ("JPEG", "PNG"):
                return None
            width, height = image.size
            return int(width), int(height)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None


def check_alias_id(alias_id: Any, *, path: str = "richMenuAliasId") -> list[FieldError]:
    """A rich menu alias ID: 1..32 of ``[a-z0-9_-]``."""
    errs = Errors()
    if not isinstance(alias_id, str) or not ALIAS_ID_RE.match(alias_id):
        errs.add(path, "required" if alias_id in (None, "") else "alias_id")
    return errs.items
