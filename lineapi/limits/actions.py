"""Action objects: which types each place allows, and the label and field limits."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._core import Errors, check_scheme, join, text_field
from .patterns import ALIAS_ID_RE

URI_SCHEMES = ("http", "https", "line", "tel")
URI_MAX = 1000

_COMMON = frozenset({"postback", "message", "uri", "datetimepicker", "clipboard"})


@dataclass(frozen=True)
class Context:
    """Where an action sits: its label limit, whether a label is required, allowed types."""

    name: str
    label_max: int | None
    label_required: bool
    types: frozenset[str]


TEMPLATE = Context("template", 20, True, _COMMON)
TEMPLATE_DEFAULT = Context("template default action", 20, False, _COMMON)
IMAGE_CAROUSEL = Context("image carousel", 12, False, _COMMON)
QUICK_REPLY = Context("quick reply", 20, True, _COMMON | {"camera", "cameraRoll", "location"})
RICH_MENU = Context("rich menu", 20, False, _COMMON | {"richmenuswitch"})
FLEX_BUTTON = Context("flex button", 40, True, _COMMON)
FLEX = Context("flex", 40, False, _COMMON)  # label not shown outside buttons; LINE still caps it

ALL_TYPES = frozenset(_COMMON | {"camera", "cameraRoll", "location", "richmenuswitch"})

_DATE = r"\d{4}-\d{2}-\d{2}"
_TIME = r"(?:[01]\d|2[0-3]):[0-5]\d"
_DATETIME_FORMATS = {
    "date": (re.compile(rf"^{_DATE}$"), "2100-12-31"),
    "time": (re.compile(rf"^{_TIME}$"), "23:59"),
    "datetime": (re.compile(rf"^{_DATE}[Tt]{_TIME}$"), "2100-12-31T23:59"),
}
_INPUT_OPTIONS = ("closeRichMenu", "openRichMenu", "openKeyboard", "openVoice")


def check_action(errs: Errors, action: Any, path: str, context: Context) -> None:
    if not isinstance(action, Mapping):
        errs.add(path, "required" if action is None else "not_object")
        return
    kind = action.get("type")
    if kind not in ALL_TYPES:
        errs.add(join(path, "type"), "unknown_type", type=str(kind))
        return
    if kind not in context.types:
        errs.add(join(path, "type"), "action_not_allowed", type=kind)
        return
    if context.label_max is not None:
        text_field(errs, action, "label", path, max_len=context.label_max, required=context.label_required)
    _CHECKS[kind](errs, action, path)


def _postback(errs: Errors, action: Mapping[str, Any], path: str) -> None:
    text_field(errs, action, "data", path, max_len=300, allow_blank=True)
    text_field(errs, action, "displayText", path, max_len=300, required=False)
    text_field(errs, action, "text", path, max_len=300, required=False)
    if action.get("displayText") is not None and action.get("text") is not None:
        errs.add(join(path, "text"), "conflict", field="text", other="displayText")
    option = action.get("inputOption")
    if option is not None and option not in _INPUT_OPTIONS:
        errs.add(join(path, "inputOption"), "invalid_choice", choices=", ".join(_INPUT_OPTIONS))
    text_field(errs, action, "fillInText", path, max_len=300, required=False)


def _message(errs: Errors, action: Mapping[str, Any], path: str) -> None:
    text_field(errs, action, "text", path, max_len=300)


def _uri(errs: Errors, action: Mapping[str, Any], path: str) -> None:
    uri = text_field(errs, action, "uri", path, max_len=URI_MAX)
    if uri:
        check_scheme(errs, uri, join(path, "uri"), URI_SCHEMES)
    alt = action.get("altUri")
    if isinstance(alt, Mapping):
        desktop = text_field(errs, alt, "desktop", join(path, "altUri"), max_len=URI_MAX, required=False)
        if desktop:
            check_scheme(errs, desktop, join(path, "altUri.desktop"), URI_SCHEMES)


def _datetimepicker(errs: Errors, action: Mapping[str, Any], path: str) -> None:
    text_field(errs, action, "data", path, max_len=300, allow_blank=True)
    mode = action.get("mode")
    if mode not in _DATETIME_FORMATS:
        if mode is None:
            errs.add(join(path, "mode"), "required")
        else:
            errs.add(join(path, "mode"), "invalid_choice", choices="date, time, datetime")
        return
    pattern, example = _DATETIME_FORMATS[mode]
    values: dict[str, str] = {}
    for key in ("initial", "min", "max"):
        value = action.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not pattern.match(value):
            errs.add(join(path, key), "datetime_format", mode=mode, example=example)
        elif mode != "time" and not ("1900-01-01" <= value[:10] <= "2100-12-31"):
            errs.add(join(path, key), "datetime_range")
        else:
            values[key] = value.replace("t", "T")
    low, high, initial = values.get("min"), values.get("max"), values.get("initial")
    if (low and high and low >= high) or (initial and low and initial < low) or (initial and high and initial > high):
        errs.add(path, "datetime_order")


def _richmenuswitch(errs: Errors, action: Mapping[str, Any], path: str) -> None:
    text_field(errs, action, "data", path, max_len=300, allow_blank=True)
    alias = text_field(errs, action, "richMenuAliasId", path, max_len=32)
    if alias and not ALIAS_ID_RE.match(alias):
        errs.add(join(path, "richMenuAliasId"), "alias_id")


def _clipboard(errs: Errors, action: Mapping[str, Any], path: str) -> None:
    text_field(errs, action, "clipboardText", path, max_len=1000)


def _nothing(errs: Errors, action: Mapping[str, Any], path: str) -> None:
    """camera, cameraRoll and location carry only a label."""


_CHECKS = {
    "postback": _postback,
    "message": _message,
    "uri": _uri,
    "datetimepicker": _datetimepicker,
    "richmenuswitch": _richmenuswitch,
    "clipboard": _clipboard,
    "camera": _nothing,
    "cameraRoll": _nothing,
    "location": _nothing,
}
