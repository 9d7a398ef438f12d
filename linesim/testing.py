"""pytest plugin: run linesim as a real subprocess for a test session.

Enable with ``pytest_plugins = ["linesim.testing"]`` (root conftest) or ``-p linesim.testing``.

* ``linesim_server`` (session): starts ``python -m linesim --port <free port>``, waits until it
  answers, and stops it at the end of the session.
* ``linesim`` (function): the same server, reset before the test (traffic, faults, config;
  channels and users are kept).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pytest
import requests

STARTUP_TIMEOUT = 20.0
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LinesimServer:
    """A running simulator and small helpers around its control API."""

    def __init__(self, base_url: str, process: subprocess.Popen | None = None, log_path: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.process = process
        self.log_path = log_path
        self.session = requests.Session()

    # -- control API helpers ---------------------------------------------------------------
    def control(self, method: str, path: str, json=None, **kwargs):
        """Call a /_sim/ route (``path`` with or without the /_sim prefix); return parsed JSON."""
        if not path.startswith("/_sim"):
            path = "/_sim/" + path.lstrip("/")
        response = self.session.request(method, self.base_url + path, json=json, timeout=30, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def register_channel(self, channel_id, secret, token, webhook_url=None, **extra) -> dict:
        body = {
            "channelId": str(channel_id),
            "channelSecret": secret,
            "accessToken": token,
            "webhookUrl": webhook_url,
            **extra,
        }
        return self.control("POST", "/_sim/channels", json=body)

    def add_user(self, channel_id, display_name="Test User", **extra) -> dict:
        return self.control("POST", f"/_sim/channels/{channel_id}/users", json={"displayName": display_name, **extra})

    def act(self, channel_id, user_id, action, **body) -> dict:
        """Act as a user: follow, unfollow, text, image, sticker, postback, ... (see README)."""
        return self.control("POST", f"/_sim/channels/{channel_id}/users/{user_id}/{action}", json=body)

    def ledger(self, **filters) -> list[dict]:
        params = {k: v for k, v in filters.items() if v is not None}
        return self.control("GET", "/_sim/ledger", params=params)["sends"]

    def summary(self) -> dict:
        return self.control("GET", "/_sim/ledger/summary")

    def fault(self, kind, endpoint="*", **extra) -> dict:
        return self.control("POST", "/_sim/faults", json={"kind": kind, "endpoint": endpoint, **extra})

    def config(self, **settings) -> dict:
        return self.control("POST", "/_sim/config", json=settings)

    def reset(self, all: bool = False) -> None:  # noqa: A002 - mirrors the API's {"all": true}
        self.control("POST", "/_sim/reset", json={"all": all})

    # -- process --------------------------------------------------------------------------------
    def wait_ready(self, timeout: float = STARTUP_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"linesim exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if self.session.get(self.base_url + "/_sim/health", timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"linesim did not answer within {timeout}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, encoding="utf-8", errors="replace") as fh:
            return "".join(fh.readlines()[-lines:])

    def stop(self) -> None:
        self.session.close()
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def start_server(*args: str) -> LinesimServer:
    """Start ``python -m linesim`` on a free port (extra CLI ``args`` allowed) and wait for it."""
    port = free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    # The child writes its log to a file (a pipe nobody reads would fill up and block it).
    with tempfile.NamedTemporaryFile(prefix="linesim-", suffix=".log", delete=False) as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "linesim", "--port", str(port), *args],
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    server = LinesimServer(f"http://127.0.0.1:{port}", process, log.name)
    try:
        server.wait_ready()
    except Exception:
        server.stop()
        raise
    return server


def _keep_log_if_it_has_errors(server: LinesimServer) -> None:
    """A traceback in linesim's log is a simulator bug: keep the log and say where it is."""
    if not server.log_path or not os.path.exists(server.log_path):
        return
    with open(server.log_path, encoding="utf-8", errors="replace") as fh:
        failed = "Traceback" in fh.read()
    if failed:
        warnings.warn(f"linesim logged errors; its log is kept at {server.log_path}", stacklevel=1)
    else:
        os.unlink(server.log_path)


@pytest.fixture(scope="session")
def linesim_server():
    server = start_server()
    try:
        yield server
    finally:
        server.stop()
        _keep_log_if_it_has_errors(server)


@pytest.fixture
def linesim(linesim_server):
    linesim_server.reset()
    return linesim_server
