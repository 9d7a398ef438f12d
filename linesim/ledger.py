"""The ledger: one compact record per accepted send, plus the retry-key store and counters.

Benchmarks push 100,000 requests (and 2,000 multicasts of 500 recipients) through the
simulator, so a record keeps the raw request body bytes rather than parsed JSON (several
times smaller; parsed only when somebody reads the ledger), and the ids of the messages
it created as ints (their quote tokens are derived from the ids, not stored).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta, timezone

from . import ids

RETRY_KEY_TTL = 24 * 3600
JST = timezone(timedelta(hours=9))  # LINE's delivery statistics are per day in UTC+9
QUOTABLE = {"text", "textV2", "sticker", "image", "video"}  # sent messages that get a quoteToken
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


class Record:
    __slots__ = (
        "request_id",
        "retry_key",
        "channel_id",
        "endpoint",
        "body",
        "to",
        "reply_token",
        "accepted_at",
        "sent_ids",
        "recipients",
        "undelivered",
    )

    def __init__(
        self, *, request_id, retry_key, channel_id, endpoint, body, to, reply_token, sent_ids, recipients, undelivered
    ):
        self.request_id = request_id
        self.retry_key = retry_key
        self.channel_id = channel_id
        self.endpoint = endpoint
        self.body = body  # raw JSON bytes as received
        self.to = to  # explicit recipients, or None: take body["to"]
        self.reply_token = reply_token
        self.accepted_at = time.time()
        self.sent_ids = sent_ids  # tuple of message ids (reply and push), else None
        self.recipients = recipients
        self.undelivered = undelivered  # users who had blocked the account: not delivered

    def parsed(self) -> dict:
        return json.loads(self.body)

    def sent_messages(self, body: dict | None = None) -> list[dict] | None:
        """The ``sentMessages`` answer of a reply or push (also repeated on a 409)."""
        if self.sent_ids is None:
            return None
        messages = (body or self.parsed()).get("messages", [])
        return [sent_message(mid, m.get("type")) for mid, m in zip(self.sent_ids, messages, strict=False)]

    def recipients_list(self, body: dict) -> list[str]:
        if self.to is not None:
            return self.to
        to = body.get("to")
        return [to] if isinstance(to, str) else list(to or [])

    def may_concern(self, user_id: str) -> bool:
        """Cheap pre-filter before parsing: does this record possibly reach ``user_id``?"""
        if self.to is not None:
            return user_id in self.to
        return user_id.encode() in self.body

    def to_json(self, body: dict | None = None) -> dict:
        if body is None:
            body = self.parsed()
        out = {
            "requestId": self.request_id,
            "retryKey": self.retry_key,
            "channelId": self.channel_id,
            "endpoint": self.endpoint,
            "to": self.recipients_list(body),
            "messages": body.get("messages", []),
            "notificationDisabled": bool(body.get("notificationDisabled", False)),
            "customAggregationUnits": body.get("customAggregationUnits"),
            "acceptedAt": iso(self.accepted_at),
        }
        if self.endpoint == "reply":
            out["replyToken"] = self.reply_token
        if self.sent_ids is not None:
            out["sentMessages"] = self.sent_messages(body)
        if self.endpoint == "narrowcast":
            for key in ("recipient", "filter", "limit"):
                if key in body:
                    out[key] = body[key]
        if self.undelivered:
            out["undelivered"] = sorted(self.undelivered)
        return out


def sent_message(message_id: int, message_type: str | None) -> dict:
    out = {"id": str(message_id)}
    if message_type in QUOTABLE:
        out["quoteToken"] = ids.quote_token(message_id)
    return out


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def jst_day(ts: float) -> int:
    """Days since 1970-01-01 in UTC+9: a cheap per-record key for daily statistics."""
    return int((ts + 9 * 3600) // 86400)


def jst_day_of(yyyymmdd: str) -> int:
    return datetime.strptime(yyyymmdd, "%Y%m%d").date().toordinal() - _EPOCH_ORDINAL


class Ledger:
    def __init__(self):
        self.records: list[Record] = []
        self.narrowcasts: dict[str, Record] = {}  # requestId -> record (progress)
        self.retry_keys: dict[str, dict[str, Record]] = {}  # channelId -> key -> record
        self.recipients = 0
        self.by_endpoint: Counter = Counter()
        self.recipients_by_endpoint: Counter = Counter()
        self.daily: Counter = Counter()  # (channelId, endpoint, JST day) -> recipients
        self.statuses: Counter = Counter()  # HTTP status answered on LINE API paths
        self.dropped = 0

    def accept(self, record: Record) -> Record:
        self.records.append(record)
        if record.endpoint == "narrowcast":
            self.narrowcasts[record.request_id] = record
        if record.retry_key:
            # UUIDs compare case-insensitively; the record keeps the key as the client sent it.
            self.retry_keys.setdefault(record.channel_id, {})[record.retry_key.lower()] = record
        self.recipients += record.recipients
        self.by_endpoint[record.endpoint] += 1
        self.recipients_by_endpoint[record.endpoint] += record.recipients
        self.daily[(record.channel_id, record.endpoint, jst_day(record.accepted_at))] += record.recipients
        return record

    def accepted_retry(self, channel_id: str, key: str) -> Record | None:
        keys = self.retry_keys.get(channel_id, {})
        key = key.lower()
        record = keys.get(key)
        if record is not None and time.time() - record.accepted_at > RETRY_KEY_TTL:
            del keys[key]  # LINE forgets keys after 24 hours
            return None
        return record

    def select(self, *, channel_id=None, user_id=None, endpoint=None):
        """Yield (record, parsed body) pairs matching the filters, oldest first."""
        for record in self.records:
            if channel_id and record.channel_id != channel_id:
                continue
            if endpoint and record.endpoint != endpoint:
                continue
            if user_id and not record.may_concern(user_id):
                continue
            body = record.parsed()
            if user_id and user_id not in record.recipients_list(body):
                continue
            yield record, body

    def summary(self) -> dict:
        return {
            "requests": len(self.records),
            "recipients": self.recipients,
            "byEndpoint": dict(self.by_endpoint),
            "recipientsByEndpoint": dict(self.recipients_by_endpoint),
            "http429": self.statuses[429],
            "http5xx": sum(n for status, n in self.statuses.items() if status >= 500),
            "byStatus": {str(status): n for status, n in sorted(self.statuses.items())},
            "dropped": self.dropped,
        }


def received_by(ledger: Ledger, channel, user_id: str) -> list[dict]:
    """What a user's phone shows: sends that reached them directly or through a group."""
    targets = {user_id} | {g.group_id for g in channel.groups.values() if user_id in g.member_ids}
    out = []
    for record in ledger.records:
        if record.channel_id != channel.channel_id or not any(map(record.may_concern, targets)):
            continue
        body = record.parsed()
        if not targets.intersection(record.recipients_list(body)):
            continue
        if record.undelivered and user_id in record.undelivered:
            continue
        item = {
            "requestId": record.request_id,
            "endpoint": record.endpoint,
            "retryKey": record.retry_key,
            "acceptedAt": iso(record.accepted_at),
            "messages": body.get("messages", []),
        }
        if record.sent_ids is not None:
            item["sentMessages"] = record.sent_messages(body)
        out.append(item)
    return out
