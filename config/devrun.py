"""`make run`: migrate, start linesim, wire a demo channel to it, then run web, worker and beat together.

Each process's output is shown with its name in front; Ctrl-C (or SIGTERM) stops them all. Ports come from
WEB_PORT (8000) and LINESIM_PORT (8090). The demo channel's credentials live in var/demo.json so that a
restart reuses them; linesim keeps nothing, so the channel is registered with it on every start.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("VAR_DIR", ROOT / "var"))
PY = sys.executable
COLORS = {"linesim": 35, "web": 32, "worker": 34, "beat": 33}


def _demo_credentials() -> dict:
    path = VAR / "demo.json"
    if path.exists():
        return json.loads(path.read_text())
    VAR.mkdir(parents=True, exist_ok=True)
    creds = {
        "channelId": "2000000001",
        "channelSecret": secrets.token_hex(16),
        "accessToken": secrets.token_urlsafe(48),
        "botUserId": "U" + secrets.token_hex(16),
    }
    path.write_text(json.dumps(creds))
    path.chmod(0o600)
    return creds


def _post_json(url: str, payload: dict) -> None:
    request = urllib.request.Request(  # noqa: S310 (a loopback URL we built)
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=5):  # noqa: S310 (a loopback URL we built)
        pass


def _wait_for(url: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310
                return
        except (urllib.error.URLError, ConnectionError, OSError):
            if time.monotonic() > deadline:
                raise SystemExit(f"error: {url} did not answer within {seconds:.0f} s") from None
            time.sleep(0.2)


DEMO_FRIENDS = [
    {"displayName": "林美玲", "language": "zh-TW", "statusMessage": "喜歡珍珠奶茶"},
    {"displayName": "佐藤 花子", "language": "ja", "statusMessage": "よろしくお願いします"},
    {"displayName": "Somchai P.", "language": "th"},
]


def _demo_friends(sim_url: str, channel_id: str) -> None:
    """A few simulated LINE users follow the demo account, so the inbox has people to talk to."""
    base = f"{sim_url}/_sim/channels/{channel_id}/users"
    with urllib.request.urlopen(base, timeout=5) as response:  # noqa: S310
        if json.loads(response.read()).get("users"):
            return
    for friend in DEMO_FRIENDS:
        request = urllib.request.Request(  # noqa: S310
            base, data=json.dumps(friend).encode(), headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            user_id = json.loads(response.read())["userId"]
        _post_json(f"{base}/{user_id}/follow", {})


class Supervisor:
    def __init__(self) -> None:
        self.procs: dict[str, subprocess.Popen] = {}
        self.stopping = False

    def start(self, name: str, args: list[str], env: dict) -> None:
        proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            text=True,
            bufsize=1,
        )
        self.procs[name] = proc
        threading.Thread(target=self._pump, args=(name, proc), daemon=True).start()

    def _pump(self, name: str, proc: subprocess.Popen) -> None:
        prefix = f"\033[{COLORS.get(name, 0)}m{name:>7} |\033[0m "
        for line in proc.stdout:  # type: ignore[union-attr]
            sys.stdout.write(prefix + line)
            sys.stdout.flush()
        if not self.stopping:
            sys.stdout.write(f"{prefix}exited with code {proc.wait()}; stopping everything\n")
            self.stop()

    def stop(self, *_args) -> None:
        if self.stopping:
            return
        self.stopping = True
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)

    def wait(self) -> None:
        while not self.stopping and all(p.poll() is None for p in self.procs.values()):
            time.sleep(0.3)
        self.stop()


def main() -> None:
    web_port = int(os.environ.get("WEB_PORT", "8000"))
    sim_port = int(os.environ.get("LINESIM_PORT", "8090"))
    web_url, sim_url = f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{sim_port}"
    env = {**os.environ, "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", web_url), "PYTHONUNBUFFERED": "1"}

    subprocess.run([PY, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    sup = Supervisor()
    signal.signal(signal.SIGINT, sup.stop)
    signal.signal(signal.SIGTERM, sup.stop)
    sup.start("linesim", [PY, "-m", "linesim", "--host", "127.0.0.1", "--port", str(sim_port)], env)
    _wait_for(f"{sim_url}/_sim/channels")

    creds = _demo_credentials()
    webhook = f"{web_url}/webhooks/line/{creds['channelId']}/"
    _post_json(f"{sim_url}/_sim/channels", {**creds, "webhookUrl": webhook, "displayName": "Demo Shop"})
    subprocess.run(
        [PY, "manage.py", "demo_setup", "--linesim-url", sim_url, "--credentials", str(VAR / "demo.json")],
        cwd=ROOT,
        env=env,
        check=True,
    )
    sup.start("web", [PY, "manage.py", "runserver", f"127.0.0.1:{web_port}", "--noreload"], env)
    sup.start("worker", [PY, "-m", "celery", "-A", "config", "worker", "-l", "info", "--concurrency", "2"], env)
    sup.start("beat", [PY, "-m", "celery", "-A", "config", "beat", "-l", "info"], env)
    _wait_for(f"{web_url}/accounts/login/")
    _demo_friends(sim_url, creds["channelId"])
    print(f"\n  Console:   {web_url}/\n  Simulator: {sim_url}/_sim/\n  Ctrl-C stops everything.\n", flush=True)
    sup.wait()


if __name__ == "__main__":
    main()
