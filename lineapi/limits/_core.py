"""FieldError, the message catalogue, and the small field checkers every rule uses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# code -> English format string. The app translates by code (wrapping these in
# gettext); ``FieldError.message`` is the English text with ``params`` filled in.
MESSAGES: dict[str, str] = {
    "required": "This field is required.",
    "blank": "This field must not be empty.",
    "not_string": "This field must be text.",
    "not_list": "This field must be a list.",
    "not_object": "This field must be an object.",
    "not_number": "This field must be a number.",
    "not_integer": "This field must be a whole number.",
    "not_boolean": "This field must be true or false.",
    "too_long": "At most {max} characters are allowed (this has {length}).",
    "too_few": "At least {min} item(s) are required (this has {count}).",
    "too_many": "At most {max} item(s) are allowed (this has {count}).",
    "count_exact": "Exactly {expected} item(s) are required (this has {count}).",
    "too_small": "The value must be at least {min} (it is {value}).",
    "too_large": "The value must be at most {max} (it is {value}).",
    "must_equal": "The value must be {expected} (it is {value}).",
    "not_https": "The URL must start with https://.",
    "bad_scheme": "The URL must use one of these schemes: {schemes}.",
    "unknown_type": '"{type}" is not a supported type here.',
    "action_not_allowed": "A {type} action cannot be used here.",
    "invalid_choice": "The value must be one of: {choices}.",
    "conflict": "{field} cannot be used together with {other}.",
    "emoji_index": "Emoji index {index} does not point to a $ character in the text.",
    "emoji_index_duplicate": "Two emojis use the same index {index}.",
    "substitution_key": 'The key "{key}" must be 1 to 20 letters, digits or underscores.',
    "substitution_undefined": "The text uses {{{key}}} but no substitution defines it.",
    "too_many_mentions": "At most {max} mentions are allowed (this has {count}).",
    "too_many_emojis": "At most {max} emojis are allowed (this has {count}).",
    "json_too_large": "This is {size} bytes as JSON; at most {max} bytes are allowed.",
    "mixed_bubble_sizes": "All bubbles in a carousel must have the same size.",
    "uneven_actions": "Every column must have {expected} action(s), like the first column.",
    "uneven_columns": "Every column must use a thumbnail image and a title the same way as the first column.",
    "datetime_format": "The value must look like {example} in {mode} mode.",
    "datetime_range": "The value must be between 1900-01-01T00:00 and 2100-12-31T23:59.",
    "datetime_order": "min must be earlier than max, with initial between them.",
    "invalid_user_id": "This is not a LINE user ID (U followed by 32 hexadecimal digits).",
    "duplicate": "{value} appears more than once.",
    "aspect_ratio": "Width divided by height must be at least {min} (it is {ratio}).",
    "out_of_bounds": "The area must lie inside the {width}x{height} image.",
    "image_format": "The image must be a JPEG or PNG file.",
    "content_type": "The content type must be image/jpeg or image/png (it is {content_type}).",
    "content_type_mismatch": "The file is a {actual} image but was sent as {declared}.",
    "file_too_large": "The file is {size} bytes; at most {max} bytes are allowed.",
    "image_size": "The image is {width}x{height} pixels; it must be {expected_width}x{expected_height}.",
    "image_unreadable": "The image could not be read.",
    "aggregation_unit": "A unit name must be 1 to 30 letters, digits or underscores.",
    "alias_id": "An alias ID must be 1 to 32 lowercase letters, digits, hyphens or underscores.",
}

MEDIA_URL_MAX = 2000


@dataclass(frozen=True)
class FieldError:
    """One problem at one place, in LINE's path style (``messages[0].text``)."""

    path: str
    message: str
    code: str
    params: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def as_detail(self) -> dict[str, str]:
        """The same problem in LINE's error-detail shape."""
        return {"property": self.path, "message": self.message}


class Errors:
    """Collects FieldErrors; the checkers below add to one instance."""

    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def add(self, path: str, code: str, **params: Any) -> None:
        self.items.append(FieldError(path, MESSAGES[code].format(**params), code, params))


def utf16_len(text: str) -> int:
    """Length as LINE counts it: UTF-16 code units (an emoji outside the BMP is 2)."""
    return len(text.encode("utf-16-le")) // 2


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def obj_field(
    errs: Errors, obj: Mapping[str, Any], key: str, path: str, *, required: bool = True
) -> Mapping[str, Any] | None:
    value = obj.get(key)
    p = join(path, key)
    if value is None:
        if required:
            errs.add(p, "required")
        return None
    if not isinstance(value, Mapping):
        errs.add(p, "not_object")
        return None
    return value


def list_field(
    errs: Errors,
    obj: Mapping[str, Any],
    key: str,
    path: str,
    *,
    min_items: int = 0,
    max_items: int | None = None,
    required: bool = True,
) -> Sequence[Any] | None:
    value = obj.get(key)
    p = join(path, key)
    if value is None:
        if required:
            errs.add(p, "required")
        return None
    if not isinstance(value, list):
        errs.add(p, "not_list")
        return None
    if len(value) < min_items:
        errs.add(p, "too_few", min=min_items, count=len(value))
    if max_items is not None and len(value) > max_items:
        errs.add(p, "too_many", max=max_items, count=len(value))
    return value


def text_field(
    errs: Errors,
    obj: Mapping[str, Any],
    key: str,
    path: str,
    *,
    max_len: int,
    required: bool = True,
    allow_blank: bool = False,
) -> str | None:
    value = obj.get(key)
    p = join(path, key)
    if value is None:
        if required:
            errs.add(p, "required")
        return None
    if not isinstance(value, str):
        errs.add(p, "not_string")
        return None
    if not value and not allow_blank:
        errs.add(p, "blank")
        return value
    length = utf16_len(value)
    if length > max_len:
        errs.add(p, "too_long", max=max_len, length=length)
    return value


def int_field(
    errs: Errors, obj: Mapping[str, Any], key: str, path: str, *, required: bool = True, minimum: int | None = None
) -> int | None:
    value = obj.get(key)
    p = join(path, key)
    if value is None:
        if required:
            errs.add(p, "required")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errs.add(p, "not_integer")
        return None
    if minimum is not None and value < minimum:
        errs.add(p, "too_small", min=minimum, value=value)
    return value


def number_field(errs: Errors, obj: Mapping[str, Any], key: str, path: str, *, low: float, high: float) -> None:
    value = obj.get(key)
    p = join(path, key)
    if value is None:
        errs.add(p, "required")
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        errs.add(p, "not_number")
    elif value < low:
        errs.add(p, "too_small", min=low, value=value)
    elif value > high:
        errs.add(p, "too_large", max=high, value=value)


def url_field(
    errs: Errors,
    obj: Mapping[str, Any],
    key: str,
    path: str,
    *,
    required: bool = True,
    max_len: int = MEDIA_URL_MAX,
    schemes: tuple[str, ...] = ("https",),
) -> None:
    """A URL field: media and icons must be HTTPS; action URIs allow a few schemes."""
    value = text_field(errs, obj, key, path, max_len=max_len, required=required)
    if not value:
        return
    check_scheme(errs, value, join(path, key), schemes)


def check_scheme(errs: Errors, value: str, path: str, schemes: tuple[str, ...]) -> None:
    scheme, sep, _ = value.partition(":")
    if (
        sep
        and scheme.lower() in schemes
        and (scheme.lower() not in ("http", "https") or value[len(scheme) + 1 :].startswith("//"))
    ):
        return
    if schemes == ("https",):
        errs.add(path, "not_https")
    else:
        errs.add(path, "bad_scheme", schemes=", ".join(schemes))
