"""Fixtures the webhook intake suites share (the threaded intake's and the event loop's)."""

import pytest

from accounts.tests.factories import ChannelFactory
from lineapi import LineClient
from messaging.webhooks import intake
from tests.fixtures import webhooks as fx


@pytest.fixture
def channel():
    return ChannelFactory(channel_secret=fx.SECRET, bot_user_id=fx.DESTINATION)


@pytest.fixture
def no_line_calls(monkeypatch):
    """The request must never talk to LINE: any call fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("the webhook request called LINE")

    monkeypatch.setattr(LineClient, "_call", refuse)


@pytest.fixture
def published(monkeypatch):
    """Committed sources go to the publisher thread, as in production; what it would send is recorded."""
    from config.celery import app

    calls: list[tuple[int, list[str]]] = []
    eager, app.conf.task_always_eager = app.conf.task_always_eager, False
    monkeypatch.setattr(intake, "_publish", lambda channel_pk, sources: calls.append((channel_pk, sources)))
    yield calls
    intake.publisher.flush()  # nothing left for a later test
    app.conf.task_always_eager = eager
