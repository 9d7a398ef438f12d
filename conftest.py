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


@pytest.fixture(autouse=True)
def _webhook_writer_stopped():
    """A threaded server (live_server, the group-commit tests) starts the webhook writer thread, whose own
    database connection must not outlive the test (PostgreSQL will not drop a test database in use)."""
    yield
    from messaging.webhooks import intake

    if intake.group_commit._thread is not None:
        intake.group_commit.stop()


@pytest.fixture(scope="session", autouse=True)
def _webhook_writer_stopped_before_the_database_goes(django_db_setup):
    """The live server lives for the whole session, and a webhook reaching it after the last test restarts
    the writer; stop it again before the test database is dropped."""
    yield
    from messaging.webhooks import intake

    intake.group_commit.stop()
