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
