"""Checks that turn a campaign's messages, audience and time into field errors a marketer can act on."""

from __future__ import annotations

import json
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from lineapi import LineAPIError
from lineapi.limits import check_messages

from .limit_messages import LIMIT_MESSAGES
from .models import AudienceKind, Delivery

# A time this far in the past still counts as "now" (the form took a moment to submit).
PAST_GRACE = timedelta(minutes=1)


class CampaignInvalid(Exception):
    """Nothing was saved or scheduled; ``errors`` maps a form field (or a message path) to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def add_error(errors: dict[str, list[str]], key: str, message: str) -> None:
    errors.setdefault(key, []).append(str(message))


def message_errors(messages) -> dict[str, list[str]]:
    """LINE's documented limits (lineapi.limits), translated, keyed by LINE path (``messages[0].text``)."""
    errors: dict[str, list[str]] = {}
    for item in check_messages(messages):
        template = LIMIT_MESSAGES.get(item.code)
        try:
            text = str(template).format(**item.params) if template is not None else item.message
        except (KeyError, IndexError, ValueError):
            text = item.message
        add_error(errors, item.path, text)
    return errors


def parse_messages_json(raw: str | list) -> tuple[list | None, str | None]:
    if isinstance(raw, list):
        return raw, None
    try:
        value = json.loads(raw or "[]")
    except ValueError as exc:
        return None, _("This is not valid JSON (%(error)s).") % {"error": exc}
    if not isinstance(value, list):
        return None, _("The messages must be a list.")
    return value, None


def line_validation_errors(client, kind: str, messages: list) -> tuple[dict[str, list[str]], str]:
    """Ask LINE's validate endpoint. Returns (errors by path, warning when LINE could not be asked)."""
    errors: dict[str, list[str]] = {}
    try:
        client.validate("push" if kind == Delivery.PUSH else kind, messages)
    except LineAPIError as exc:
        if exc.kind == "client":
            for detail in exc.details or [{"property": "messages", "message": exc.message}]:
                add_error(errors, detail.get("property") or "messages",
                          _("LINE says: %(message)s") % {"message": detail.get("message") or exc.message})
            return errors, ""
        return errors, _("LINE could not double-check the messages right now (%(reason)s); "
                         "they passed our own checks.") % {"reason": exc.kind}
    return errors, ""


def schedule_errors(when, now=None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    now = now or timezone.now()
    if when is not None and when < now - PAST_GRACE:
        add_error(errors, "scheduled_at", _("This time has already passed. Pick a time in the future."))
    return errors


def delivery_for(audience_kind: str, personalize: bool) -> str:
    if audience_kind == AudienceKind.ALL:
        return Delivery.BROADCAST
    if audience_kind == AudienceKind.DEMOGRAPHIC:
        return Delivery.NARROWCAST
    return Delivery.PUSH if personalize else Delivery.MULTICAST
