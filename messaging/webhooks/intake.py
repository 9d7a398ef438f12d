"""Webhook intake: check, store raw in one insert, and hand the rows to Celery. Nothing slow happens here.

LINE counts a webhook as failed after 2 seconds, and may redeliver or duplicate events: the request only
verifies the signature, parses, inserts every event once (unique on channel + webhookEventId, conflicts
ignored so duplicates and redeliveries collapse), commits, and answers 200.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils.translation import gettext_lazy as _

from lineapi import signature

from ..models import WebhookEvent

log = logging.getLogger(__name__)

# LINE's API refuses request bodies over 2 MB; a webhook body larger than that is not LINE's.
MAX_BODY_BYTES = getattr(settings, "LINE_WEBHOOK_MAX_BYTES", 2 * 1024 * 1024)
BOT_USER_ID = re.compile(r"^U[0-9a-f]{32}$")


class Rejected(Exception):
    """The request is refused; nothing was stored. ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, reason):
        super().__init__(str(reason))
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Accepted:
    received: int
    sources: tuple[str, ...]


def check_size(content_length: str | None) -> None:
    try:
        length = int(content_length or 0)
    except ValueError:
        raise Rejected(400, _("Invalid Content-Length.")) from None
    if length > MAX_BODY_BYTES:
        raise Rejected(400, _("The body is larger than LINE ever sends."))


def check_signature(channel, body: bytes, header: str | None) -> None:
    if len(body) > MAX_BODY_BYTES:
        raise Rejected(400, _("The body is larger than LINE ever sends."))
    if not signature.verify(channel.channel_secret, body, header):
        _count_bad_signature(channel.channel_id)
        # Never log the body: it holds users' messages; the header alone proves nothing either.
        log.warning(
            "webhook signature rejected: channel=%s bytes=%d header=%s",
            channel.channel_id,
            len(body),
            "present" if header else "missing",
        )
        raise Rejected(401, _("The x-line-signature header is missing or does not match the body."))


def bad_signature_count(channel_id: str) -> int:
    return cache.get(_bad_key(channel_id), 0)


def _bad_key(channel_id: str) -> str:
    return f"messaging:webhook:bad-signature:{channel_id}"


def _count_bad_signature(channel_id: str) -> None:
    key = _bad_key(channel_id)
    try:
        if not cache.add(key, 1, timeout=None):
            cache.incr(key)
    except Exception:  # a counter must never turn a 401 into a 500
        log.exception("could not count a rejected webhook signature")


def parse(channel, body: bytes) -> list[dict]:
    """The events of a verified body; Rejected(400) when it is not a LINE webhook body for this channel."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Rejected(400, _("The body is not valid JSON.")) from None
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        raise Rejected(400, _("The body has no events list."))
    destination = data.get("destination")
    if not isinstance(destination, str) or not BOT_USER_ID.match(destination):
        raise Rejected(400, _("The destination is not a bot user ID."))
    if channel.bot_user_id and destination != channel.bot_user_id:
        raise Rejected(400, _("The destination is another bot, not this channel's."))
    events = data["events"]
    for event in events:
        if not (
            isinstance(event, dict)
            and isinstance(event.get("webhookEventId"), str)
            and 0 < len(event["webhookEventId"]) <= 64
            and isinstance(event.get("type"), str)
            and isinstance(event.get("timestamp"), int)
            and not isinstance(event.get("timestamp"), bool)
        ):
            raise Rejected(400, _("An event lacks its type, timestamp or webhookEventId."))
    return events


def source_of(event: dict) -> tuple[str, str, str]:
    """(source type, source ID, user ID): a group's or room's ID for group chats, else the user's."""
    source = event.get("source") if isinstance(event.get("source"), dict) else {}
    kind = str(source.get("type") or "")[:8]
    user_id = str(source.get("userId") or "")[:64]
    source_id = str(source.get("groupId") or source.get("roomId") or user_id)[:64]
    return kind, source_id, user_id


def _row(channel, event: dict, now: datetime) -> WebhookEvent:
    kind, source_id, user_id = source_of(event)
    delivery = event.get("deliveryContext") if isinstance(event.get("deliveryContext"), dict) else {}
    return WebhookEvent(
        channel=channel,
        webhook_event_id=event["webhookEventId"],
        type=event["type"][:40],
        mode=str(event.get("mode") or "")[:16],
        source_type=kind,
        source_id=source_id,
        user_id=user_id,
        timestamp=datetime.fromtimestamp(event["timestamp"] / 1000, tz=UTC),
        payload=event,
        is_redelivery=bool(delivery.get("isRedelivery")),
        received_at=now,
    )


def store(channel, events: list[dict]) -> Accepted:
    """Insert every event in one statement; duplicates (same channel + webhookEventId) are ignored."""
    if not events:
        return Accepted(0, ())
    now = datetime.now(tz=UTC)
    rows = [_row(channel, event, now) for event in events]
    sources = tuple(dict.fromkeys(row.source_id for row in rows))
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        _insert_postgresql(rows)  # one round trip, committed on return
        _enqueue(channel.pk, sources)
    else:
        with transaction.atomic():
            WebhookEvent.objects.bulk_create(rows, ignore_conflicts=True)
            transaction.on_commit(lambda: _enqueue(channel.pk, sources))
    return Accepted(len(rows), sources)


_COLUMNS = (
    "channel_id",
    "webhook_event_id",
    "type",
    "mode",
    "source_type",
    "source_id",
    "user_id",
    "timestamp",
    "payload",
    "is_redelivery",
    "status",
    "attempts",
    "last_error",
    "received_at",
)


def _insert_postgresql(rows: list[WebhookEvent]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING in autocommit: the same as bulk_create(ignore_conflicts=True) minus
    the BEGIN and COMMIT round trips, which are most of a webhook's time on a busy database."""
    placeholders = "(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"
    params: list = []
    for r in rows:
        params += [
            r.channel_id,
            r.webhook_event_id,
            r.type,
            r.mode,
            r.source_type,
            r.source_id,
            r.user_id,
            r.timestamp,
            json.dumps(r.payload, ensure_ascii=False),
            r.is_redelivery,
            r.status,
            0,
            "",
            r.received_at,
        ]
    # Only our own table and column names are interpolated; every value is a bound parameter.
    head = f"INSERT INTO {WebhookEvent._meta.db_table} ({', '.join(_COLUMNS)}) VALUES "  # noqa: S608
    sql = head + ", ".join([placeholders] * len(rows)) + " ON CONFLICT (channel_id, webhook_event_id) DO NOTHING"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _enqueue(channel_pk: int, sources: tuple[str, ...]) -> None:
    """Hand the stored rows to a worker. If the broker is down the rows wait for the sweeper."""
    from ..tasks import process_webhook_sources

    try:
        process_webhook_sources.delay(channel_pk, list(sources))
    except Exception:
        log.exception("could not enqueue webhook processing; the sweeper will pick the events up")
