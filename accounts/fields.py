"""Encrypted model fields for channel secrets and tokens.

Values are encrypted with Fernet (AES-128-CBC + HMAC) under the keys in FIELD_ENCRYPTION_KEYS. The first
key encrypts; every key decrypts, so a key can be rotated by putting the new one first and re-saving.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except ValueError as exc:  # a malformed key: say which setting, never the key
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY is not a valid Fernet key") from exc


def encrypt(value: str) -> str:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured("a stored secret cannot be decrypted with FIELD_ENCRYPTION_KEY") from exc


class EncryptedTextField(models.TextField):
    """A text column whose value is encrypted at rest; Python code sees plain text."""

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt(value)


def mask(secret: str | None) -> str:
    """What a page may show of a secret: its length hidden, its last four characters only."""
    if not secret:
        return ""
    return "••••••••" + secret[-4:] if len(secret) > 8 else "••••••••"
