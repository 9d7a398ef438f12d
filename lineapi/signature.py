"""Webhook signatures: HMAC-SHA256 over the raw body bytes, base64-encoded.

Always pass the body exactly as received (Django's ``request.body``); parsing and
re-serialising JSON changes the bytes and breaks the signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def sign(channel_secret: str, body: bytes) -> str:
    """Return the ``x-line-signature`` value LINE would send for ``body``."""
    digest = hmac.new(channel_secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(channel_secret: str, body: bytes, signature: str | None) -> bool:
    """True only when ``signature`` is the valid signature of ``body``.

    A missing, empty or malformed header gives False; this never raises, so a
    webhook view can answer 401/400 without a try block.
    """
    if not signature or not channel_secret or not isinstance(signature, str):
        return False
    try:
        expected = sign(channel_secret, body)
        # compare_digest on ASCII bytes: constant time, and no TypeError on
        # non-ASCII header values (they simply do not match).
        return hmac.compare_digest(expected.encode("ascii"), signature.strip().encode("utf-8"))
    except (TypeError, ValueError, UnicodeError):
        return False
