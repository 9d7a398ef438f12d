"""Validate request bodies with the official SDK's models, reporting LINE-style property paths.

The SDK's generated ``from_dict`` builds nested models bottom-up, so a pydantic error
raised deep inside (say, an action label) only knows its own model's field name.  The
happy path therefore just calls ``Model.from_dict`` (fast); only when that fails do we
walk the body alongside the model's fields to find *where* it failed and report
``messages[0].template.actions[1].label`` the way LINE does.
"""

from __future__ import annotations

import importlib
from functools import cache

from pydantic.v1 import BaseModel, ValidationError
from pydantic.v1.fields import SHAPE_DICT, SHAPE_LIST, SHAPE_MAPPING, SHAPE_SINGLETON

from .errors import detail

_LIST_SHAPES = {SHAPE_LIST}
_MAP_SHAPES = {SHAPE_DICT, SHAPE_MAPPING}


def sdk_errors(model: type[BaseModel], data, path: str = "") -> list[dict]:
    """Return LINE-style error details for ``data`` against an SDK model ([] if valid)."""
    if not isinstance(data, dict):
        return [detail(path, "must be an object")]
    try:
        model.from_dict(data)
        return []
    except Exception as exc:  # noqa: BLE001 - the SDK raises KeyError/TypeError/ValueError too
        return _locate(model, data, path) or [detail(path, f"invalid: {exc}")]


def merged(primary: list[dict], secondary: list[dict]) -> list[dict]:
    """primary + those of secondary about other properties: one complaint per property."""
    reported = {e["property"] for e in primary}
    return primary + [e for e in secondary if e["property"] not in reported]


def join(path: str, key) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _locate(cls, obj, path: str) -> list[dict]:
    if not isinstance(obj, dict):
        return [detail(path, "must be an object")]
    cls, error = _concrete(cls, obj, path)
    if error:
        return [error]
    nested = []
    for field in cls.__fields__.values():
        nested += _nested_errors(field, obj.get(field.alias), join(path, field.alias))
    if nested:
        return nested
    try:
        cls.from_dict(obj)
    except ValidationError as exc:
        return [_translate(cls, err, path) for err in exc.errors()]
    except Exception as exc:  # noqa: BLE001
        return [detail(path, f"invalid: {exc}")]
    return []


def _nested_errors(field, value, path: str) -> list[dict]:
    sub = field.type_
    if value is None or not (isinstance(sub, type) and issubclass(sub, BaseModel)):
        return []
    if field.shape == SHAPE_SINGLETON:
        return _locate(sub, value, path)
    if field.shape in _LIST_SHAPES:
        if not isinstance(value, list):
            return [detail(path, "must be an array")]
        return [e for i, item in enumerate(value) for e in _locate(sub, item, join(path, i))]
    if field.shape in _MAP_SHAPES:
        if not isinstance(value, dict):
            return [detail(path, "must be an object")]
        return [e for key, item in value.items() for e in _locate(sub, item, join(path, key))]
    return []


def _concrete(cls, obj: dict, path: str):
    """Resolve a discriminated base class (Message, Action, ...) to the class for obj["type"]."""
    if "get_discriminator_value" not in cls.__dict__:
        return cls, None
    prop = getattr(cls, f"_{cls.__name__}__discriminator_property_name", "type")
    mapping = getattr(cls, f"_{cls.__name__}__discriminator_value_class_map", {})
    value = obj.get(prop)
    if value is None:
        return None, detail(join(path, prop), "must be specified")
    if not isinstance(value, str) or value not in mapping:
        allowed = ", ".join(sorted(mapping))
        return None, detail(join(path, prop), f"must be one of the following values: [{allowed}]")
    module = importlib.import_module(cls.__module__.rsplit(".", 1)[0])
    return getattr(module, mapping[value]), None


@cache
def _fields_by_alias(cls) -> dict:
    return {f.alias: f for f in cls.__fields__.values()}


def _translate(cls, err: dict, path: str) -> dict:
    """Turn one pydantic error into LINE's {"message", "property"} wording."""
    loc = err.get("loc", ())
    prop = path
    for part in loc:
        if part != "__root__":
            prop = join(prop, part)
    field = _fields_by_alias(cls).get(loc[0]) if loc else None
    return detail(prop, _wording(err, field))


def _wording(err: dict, field) -> str:
    kind = err.get("type", "")
    limit = (err.get("ctx") or {}).get("limit_value")
    outer = getattr(field, "outer_type_", None)
    if kind in ("value_error.missing", "type_error.none.not_allowed"):
        return "must be specified"
    if kind.startswith("value_error.list."):
        low = getattr(outer, "min_items", None) or 0
        high = getattr(outer, "max_items", None)
        return f"Size must be between {low} and {high}" if high is not None else f"Size must be at least {limit}"
    if kind.startswith("value_error.any_str."):
        low = getattr(outer, "min_length", None) or 0
        high = getattr(outer, "max_length", None)
        return f"Length must be between {low} and {high}" if high is not None else f"Length must be at least {limit}"
    if kind == "value_error.str.regex":
        return f"must match {(err.get('ctx') or {}).get('pattern', 'the required pattern')}"
    if kind.startswith("type_error."):
        return f"invalid type ({err.get('msg')})"
    return str(err.get("msg", "invalid"))
