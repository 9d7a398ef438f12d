"""Fixtures: a scripted LINE stand-in (see fakeline.py) and a client pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lineapi import LineClient
from lineapi.tests.fakeline import TOKEN, FakeLine


@pytest.fixture
def line() -> Iterator[FakeLine]:
    server = FakeLine()
    yield server
    server.close()


@pytest.fixture
def data_line() -> Iterator[FakeLine]:
    """A second server playing api-data.line.me."""
    server = FakeLine()
    yield server
    server.close()


@pytest.fixture
def client(line: FakeLine, data_line: FakeLine) -> Iterator[LineClient]:
    c = LineClient(access_token=TOKEN, api_base=line.base_url, data_api_base=data_line.base_url, timeout=(1.0, 2.0))
    yield c
    c.close()
