"""`make run`'s supervisor: one command brings up linesim, the demo channel, web, worker and beat; Ctrl-C
stops all of them."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_until(proc, pattern: str, seen: list[str], timeout: float = 90) -> re.Match:
    """The first output line matching `pattern`, whether it was already read or is still to come."""
    for line in seen:
        if match := re.search(pattern, line):
            return match
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if match := re.search(pattern, line):
            return match
    pytest.fail(f"never saw {pattern!r}:\n{''.join(seen)[-4000:]}")


def test_make_run_starts_everything_and_ctrl_c_stops_it(tmp_path):
    web, sim = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    env.update(VAR_DIR=str(tmp_path / "var"), WEB_PORT=str(web), LINESIM_PORT=str(sim), DJANGO_DEBUG="1")
    env.pop("PUBLIC_BASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "config.devrun"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    seen: list[str] = []
    try:
        password = read_until(proc, r"Demo admin created: username 'admin', password '([^']+)'", seen).group(1)
        read_until(
            proc, rf"Demo channel 'Demo Shop' \(2000000001\) -> http://127.0.0.1:{web}/webhooks/line/2000000001/", seen
        )
        # The supervisor prints the console's address only once the web server answers.
        read_until(proc, rf"Console:\s+http://127.0.0.1:{web}/", seen)
        read_until(proc, r"worker \|.*ready\.", seen)
        login = urllib.request.urlopen(f"http://127.0.0.1:{web}/accounts/login/", timeout=10).read().decode()
        assert "Sign in" in login
        phones = urllib.request.urlopen(f"http://127.0.0.1:{sim}/_sim/", timeout=10).read().decode()
        assert "Demo Shop" in phones
        assert len(password) >= 12
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("Ctrl-C did not stop everything within 30 s")
    # Every child is gone: nothing listens on either port any more.
    for port in (web, sim):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still open after Ctrl-C"
