"""Helpers for the cross-app suites."""

import time

import pytest


def wait_until(predicate, timeout: float = 30, interval: float = 0.2, message="condition"):
    """Poll until `predicate()` is truthy; fail with `message` after `timeout` seconds.

    `message` may be a callable, called at the failure: a worker's log read then shows what it did meanwhile.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {message() if callable(message) else message}")
        time.sleep(interval)


def http_scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict:
    """An ASGI HTTP scope as uvicorn builds it for a plain-HTTP request from 127.0.0.1."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 5000),
    }
