"""Webhook signatures: LINE's own test vector, and everything that must fail quietly."""

from __future__ import annotations

import pytest

from lineapi import sign, verify

SECRET = "channel_secret"
BODY = b"bodybodybodybody"
KNOWN = "/gg9a+LvFevTH1sd7XCQycD7tsWclCsInj7MhBHxN7k="


def test_it_matches_the_sdks_known_vector() -> None:
    assert sign(SECRET, BODY) == KNOWN
    assert verify(SECRET, BODY, KNOWN) is True


def test_a_tampered_body_fails() -> None:
    assert verify(SECRET, BODY + b" ", KNOWN) is False
    assert verify(SECRET, b"bodybodybodybodx", KNOWN) is False


def test_the_wrong_secret_fails() -> None:
    assert verify("another_secret", BODY, KNOWN) is False


@pytest.mark.parametrize("header", [None, "", "   ", "not base64 at all", "ç€ñ", KNOWN[:-4], 12345])
def test_a_missing_or_garbage_header_is_false_not_an_exception(header: object) -> None:
    assert verify(SECRET, BODY, header) is False  # type: ignore[arg-type]


def test_a_non_bytes_body_is_false() -> None:
    assert verify(SECRET, "bodybodybodybody", KNOWN) is False  # type: ignore[arg-type]


def test_the_body_is_signed_as_raw_bytes_including_non_ascii() -> None:
    body = '{"events":[{"text":"こんにちは"}]}'.encode()
    assert verify(SECRET, body, sign(SECRET, body)) is True
