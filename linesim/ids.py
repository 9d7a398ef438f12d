"""Identifier generators shaped like LINE's (request ids, ULIDs, user ids, tokens...)."""

import base64
import hashlib
import hmac
import itertools
import os
import secrets
import time
import uuid

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_QUOTE_SECRET = os.urandom(32)

# Message ids are numeric strings of ~18 digits on LINE.  A counter seeded from the
# clock keeps them unique and increasing within one simulator run.
_message_ids = itertools.count(int(time.time() * 1000) * 10_000 % 10**18 + 10**17)


def request_id() -> str:
    """A fresh x-line-request-id (LINE uses UUIDs)."""
    return str(uuid.uuid4())


def ulid(timestamp_ms: int | None = None) -> str:
    """A 26-character ULID: 48-bit millisecond time + 80 random bits, Crockford base32."""
    if timestamp_ms is None:
        timestamp_ms = int(time.time() * 1000)
    value = (timestamp_ms << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def user_id() -> str:
    return "U" + secrets.token_hex(16)


def group_id() -> str:
    return "C" + secrets.token_hex(16)


def message_number() -> int:
    return next(_message_ids)


def message_id() -> str:
    return str(next(_message_ids))


def quote_token(message_id: int | str) -> str:
    """An opaque token derived from the message id: nothing to store per sent message."""
    digest = hmac.new(_QUOTE_SECRET, str(message_id).encode(), hashlib.sha512).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def reply_token() -> str:
    return secrets.token_hex(16)


def link_token() -> str:
    return secrets.token_urlsafe(24)


def access_token() -> str:
    # Real channel access tokens are long opaque base64-ish strings.
    return secrets.token_urlsafe(128)


def rich_menu_id() -> str:
    return "richmenu-" + secrets.token_hex(16)


def basic_id() -> str:
    return "@" + secrets.token_hex(4)


def now_ms() -> int:
    return int(time.time() * 1000)
