"""Fixtures shared by every suite. linesim.testing adds `linesim_server` (a real linesim process) and `linesim`."""

import pytest

pytest_plugins = ["linesim.testing"]


@pytest.fixture(autouse=True)
def _eager_celery(settings):
    """Unit tests run tasks in-process; suites marked `worker` start a real Celery worker instead."""
    from config.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
