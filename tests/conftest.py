"""Fixtures for the cross-app suites: a real Celery worker process, and a signed-in browser page."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


class WorkerProcess:
    """A real `celery worker` in its own process group, using the test database and the configured broker
    (the file-system broker on the embedded defaults, Redis when REDIS_URL is set)."""

    def __init__(self, log_dir: Path, concurrency: int = 2):
        self.log_dir = log_dir
        self.concurrency = concurrency
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def _env(self) -> dict:
        env = {**os.environ, "DATABASE_NAME": str(connection.settings_dict["NAME"]), "PYTHONUNBUFFERED": "1"}
        env.pop("CELERY_TASK_ALWAYS_EAGER", None)
        return env

    def start(self, timeout: float = 60) -> None:
        self.starts += 1
        log_path = self.log_dir / f"worker-{self.starts}.log"
        self.log = log_path.open("w")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-l",
                "info",
                "--pool",
                "prefork",
                "--concurrency",
                str(self.concurrency),
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"test{self.starts}@%h",
            ],
            cwd=ROOT,
            env=self._env(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while "ready." not in log_path.read_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Celery worker did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once, as a crash or OOM kill would."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return "".join(p.read_text() for p in sorted(self.log_dir.glob("worker-*.log")))


def _purge_broker() -> None:
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("celery")


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    """Start with `.start()`; `.kill()` SIGKILLs it mid-work. Tasks run in that process, not eagerly."""
    from config.celery import app

    app.conf.task_always_eager = False
    _purge_broker()
    worker = WorkerProcess(tmp_path)
    worker.start()
    yield worker
    worker.stop()
    _purge_broker()


BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium driven by Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    if not Path("/usr/bin/chromium").exists():
        pytest.fail("Debian's chromium is missing: `make test` installs it (apt-get install chromium)")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=BROWSER_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="en-US")
    pg = context.new_page()
    pg.set_default_timeout(15000)
    yield pg
    context.close()
