"""Webhook intake throughput and latency: the app under gunicorn on PostgreSQL vs a minimal Flask baseline.

    .venv/bin/python bench/webhook_ingest.py [--seconds 10] [--repeats 3] [--sizes 1,100]
        [--worker-class uvicorn|gthread|gevent] [--baseline-worker-class gthread|gevent] [--workers N]
        [--threads 32] [--sync] [--connections 64]
        [--fresh-connections] [--database-url postgres://postgres@127.0.0.1:5432/postgres]
        [--redis-url redis://127.0.0.1:6379/11] [--keep-db]

Works in its own database (`bench_webhooks` on the server of --database-url, created at the start and
dropped at the end unless --keep-db) and its own Redis db (11 unless told otherwise; the queue is purged at
the end). The baseline (Flask + line-bot-sdk's WebhookParser) verifies the signature and parses the body,
nothing else; ours stores every event (committed before the 200) and enqueues processing. Both run under
gunicorn with the web process's own settings (config/gunicorn.conf.py): ours as deployed (uvicorn workers
serving config.asgi, unless --worker-class says otherwise), the baseline, a WSGI app, on gthread workers
(or --baseline-worker-class; the same class as ours when ours is a WSGI one). Both are driven by the same
load generators, and their runs alternate (ours, baseline, ours, ...) so background load hits both alike.

For each body size (1 and 100 events per POST) and each repeat:
- warm-up: 2 s of load, not counted;
- peak: closed loop with Debian's `wrk` (C, LuaJIT; `apt-get install wrk`) over --connections keep-alive
  connections, every POST a distinct signed body; events/s from the POSTs answered 200 (falls back to a
  Python client, said in the output, when wrk is missing);
- half load: an open loop at half of that app's own peak (a light asyncio client, on uvloop when
  installed, over at most --connections keep-alive connections as the peak's, a POST due while all are
  busy waiting for one; --fresh-connections for a new connection a POST; latency counted from each
  POST's scheduled time, so a stall or a wait for a connection is not hidden). The client stands for
  LINE's platform, which does not share the servers' CPUs or pause for their sake: while it runs it
  collects no garbage and is scheduled before them (nice -10, when the bench may raise its priority; it
  says so when it may not), so that its own lateness, printed as "client lag", stays out of the p99.
Then, for ours: every event answered 200 must be in the database, and 200 sequential POSTs are each
followed at once by a read from another connection that must find the row (committed before the 200).
Prints each run, the medians, the load average around the runs, then
`RESULT events_per_s=N baseline_events_per_s=N ratio=X p99_ms=X`: medians of the 100-event POSTs
throughput, the median over repeats of ours / baseline measured back to back (paired, so a load spike
between runs does not decide it), and the median p99 at half load for 1-event POSTs, the case LINE sends most.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gc
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHANNEL_ID = "2999000001"
SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
BOT = "U" + "ab" * 16
PATH = f"/webhooks/line/{CHANNEL_ID}/"
BENCH_DB = "bench_webhooks"

BASELINE = """
import os
from flask import Flask, request, abort
from linebot.v3.webhook import WebhookParser
from linebot.v3.exceptions import InvalidSignatureError

app = Flask(__name__)
parser = WebhookParser(os.environ["BENCH_SECRET"])

@app.post("/webhooks/line/<channel_id>/")
def callback(channel_id):
    try:
        parser.parse(request.get_data(as_text=True), request.headers.get("x-line-signature", ""))
    except InvalidSignatureError:
        abort(401)
    return "{}"
"""

# wrk: each thread sends its own slice of pre-signed bodies in order (distinct webhookEventIds), counts the
# answers, and the last thread to finish prints the totals.
WRK_LUA = r"""
local threads = {}
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  local file, nthreads = args[1], tonumber(args[2])
  reqs, n, ok, bad, wrapped = {}, 0, 0, 0, 0
  local i = 0
  for line in io.lines(file) do
    if i % nthreads == id then
      local tab = line:find("\t", 1, true)
      reqs[#reqs + 1] = wrk.format("POST", nil,
        {["x-line-signature"] = line:sub(1, tab - 1), ["content-type"] = "application/json"}, line:sub(tab + 1))
    end
    i = i + 1
  end
end
function request()
  n = n + 1
  if n > #reqs then n, wrapped = 1, wrapped + 1 end
  return reqs[n]
end
function response(status, headers, body)
  if status == 200 then ok = ok + 1 else bad = bad + 1 end
end
function done(summary, latency, requests)
  local ok_, bad_, wrapped_ = 0, 0, 0
  for _, t in ipairs(threads) do
    ok_, bad_, wrapped_ = ok_ + t:get("ok"), bad_ + t:get("bad"), wrapped_ + t:get("wrapped")
  end
  io.write(string.format("WRK ok=%d bad=%d wrapped=%d errors=%d p50_us=%d p99_us=%d duration_us=%d\n",
    ok_, bad_, wrapped_, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), summary.duration))
end
"""


def sign(body: bytes) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


def make_bodies(count: int, per_post: int, prefix: str) -> list[tuple[bytes, str]]:
    now = int(time.time() * 1000)
    out = []
    for b in range(count):
        events = []
        for i in range(per_post):
            n = b * per_post + i
            events.append(
                {
                    "type": "message",
                    "mode": "active",
                    "timestamp": now + n,
                    "webhookEventId": f"{prefix}{n:012d}",
                    "deliveryContext": {"isRedelivery": False},
                    "replyToken": secrets.token_hex(16),
                    "source": {"type": "user", "userId": "U" + f"{n % 5000:032x}"},
                    "message": {"id": str(10**17 + n), "type": "text", "quoteToken": "q", "text": f"hello {n}"},
                }
            )
        body = json.dumps({"destination": BOT, "events": events}, separators=(",", ":")).encode()
        out.append((body, sign(body)))
    return out


# --- load generators ----------------------------------------------------------------------------------------


def wrk_closed_loop(port: int, bodies, connections: int, seconds: int, workdir: Path, quiet=False) -> dict:
    """Peak: wrk over `connections` connections for `seconds`. Returns ok, bad, elapsed, p50/p99 (ms)."""
    data = workdir / "bodies.tsv"
    with data.open("wb") as fh:
        for body, sig in bodies:
            fh.write(sig.encode() + b"\t" + body + b"\n")
    script = workdir / "post.lua"
    script.write_text(WRK_LUA)
    threads = 1  # one C event loop drives thousands of POSTs a second; a second would take a core from the servers
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s"]
    cmd += ["-s", str(script), f"http://127.0.0.1:{port}{PATH}", "--", str(data), str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    m = re.search(r"WRK ok=(\d+) bad=(\d+) wrapped=(\d+) errors=(\d+) p50_us=(\d+) p99_us=(\d+) duration_us=(\d+)", out)
    if not m:
        raise SystemExit(f"wrk said:\n{out}")
    ok, bad, wrapped, errors, p50, p99, duration = map(int, m.groups())
    if wrapped and not quiet:
        print(f"  note: wrk ran out of distinct bodies ({wrapped} wraps); later POSTs were duplicates", flush=True)
    return {"ok": ok, "bad": bad + errors, "elapsed": duration / 1e6, "p50": p50 / 1000, "p99": p99 / 1000}


class _Post(asyncio.Protocol):
    """One POST on its own connection (gunicorn's sync workers close it after the answer)."""

    def __init__(self, request: bytes, done: asyncio.Future):
        self.request, self.done, self.data = request, done, bytearray()

    def connection_made(self, transport):
        transport.write(self.request)

    def data_received(self, data):
        self.data += data

    def connection_lost(self, exc):
        if not self.done.done():
            status = int(self.data[9:12]) if self.data.startswith(b"HTTP/1.") else 0
            self.done.set_result(status)


def _request_bytes(port: int, body: bytes, sig: str, keep_alive: bool = False) -> bytes:
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"x-line-signature: {sig}\r\nContent-Length: {len(body)}\r\n"
        + ("" if keep_alive else "Connection: close\r\n")
        + "\r\n"
    )
    return head.encode() + body


class _KeepAlivePool:
    """Keep-alive connections to one server, at most ``limit`` of them: a POST takes an idle one, opens
    another while under the limit, or waits for one (its latency still counts from its scheduled time)."""

    def __init__(self, port: int, limit: int):
        self.port, self.idle, self.slots = port, [], asyncio.Semaphore(limit)
        self.stale = 0  # POSTs sent again because the server had closed the idle connection they were sent on

    async def post(self, request: bytes) -> int:
        async with self.slots:
            reused = bool(self.idle)
            status = await self._post(request)
            if status is None and reused:  # closed while idle, nothing answered: as any HTTP client, once more
                self.stale += 1
                status = await self._post(request, fresh=True)
            return status or 0

    async def _post(self, request: bytes, fresh: bool = False) -> int | None:
        """The answer's status; 0 for a broken answer, None when the connection ended before any byte."""
        if self.idle and not fresh:
            reader, writer = self.idle.pop()
        else:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        head = b""
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
            await reader.readexactly(int(length[1]) if length else 0)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            writer.close()
            nothing = not head and (isinstance(exc, ConnectionResetError) or getattr(exc, "partial", None) == b"")
            return None if nothing else 0
        if re.search(rb"(?i)\r\nconnection:\s*close", head):
            writer.close()
        else:
            self.idle.append((reader, writer))
        return int(head[9:12])

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


async def _post(loop, port: int, request: bytes) -> int:
    done = loop.create_future()
    try:
        await loop.create_connection(lambda: _Post(request, done), "127.0.0.1", port)
        return await asyncio.wait_for(done, 30)
    except (TimeoutError, OSError):
        return 0


async def open_loop(
    port: int, bodies, rate: float, seconds: float, connections: int, fresh_connections: bool = False
) -> dict:
    """POSTs sent at a fixed rate whatever the answers do; latency from each POST's scheduled time.

    Over at most ``connections`` keep-alive connections, as the peak's wrk sends them (a POST due while
    every one is busy waits for one: opening ever more would measure connection set-up, not POSTs), or with
    ``fresh_connections`` each POST on a connection of its own."""
    loop = asyncio.get_running_loop()
    requests = [_request_bytes(port, b, s, not fresh_connections) for b, s in bodies[: max(1, int(rate * seconds))]]
    latencies, statuses, lags = [], [], []
    pool = _KeepAlivePool(port, connections)

    async def one(request, due):
        lags.append(loop.time() - due)  # the client's own delay: this POST's task ran this late
        statuses.append(await (_post(loop, port, request) if fresh_connections else pool.post(request)))
        latencies.append(loop.time() - due)

    tasks, start, sent = [], loop.time(), 0
    while sent < len(requests):
        due_now = min(len(requests), int((loop.time() - start) * rate) + 1)
        for i in range(sent, due_now):
            tasks.append(loop.create_task(one(requests[i], start + i / rate)))
        sent = due_now
        await asyncio.sleep(0.001)
    await asyncio.gather(*tasks)
    pool.close()
    return {
        "ok": sum(1 for s in statuses if s == 200),
        "bad": sum(1 for s in statuses if s != 200),
        "stale": pool.stale,
        "p50": pct(latencies, 0.5),
        "p99": pct(latencies, 0.99),
        "client_lag_p99": pct(lags, 0.99),
    }


async def python_closed_loop(port: int, bodies, connections: int, seconds: float) -> dict:
    """Fallback when wrk is missing: the same closed loop from Python (costs the servers more CPU)."""
    loop = asyncio.get_running_loop()
    deadline, index, ok, bad, latencies = loop.time() + seconds, 0, 0, 0, []

    async def worker():
        nonlocal index, ok, bad
        while loop.time() < deadline and index < len(bodies):
            body, sig = bodies[index]
            index += 1
            t0 = loop.time()
            status = await _post(loop, port, _request_bytes(port, body, sig))
            latencies.append(loop.time() - t0)
            ok, bad = ok + (status == 200), bad + (status != 200)

    start = loop.time()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return {
        "ok": ok,
        "bad": bad,
        "elapsed": loop.time() - start,
        "p50": pct(latencies, 0.5),
        "p99": pct(latencies, 0.99),
    }


_CLIENT_NICE = -10
_warned_nice = False


@contextlib.contextmanager
def steady_client():
    """Keep the open loop's client on its schedule while it runs, so that its own lateness does not count
    in the servers' latency: no garbage collection (the tens of thousands of bodies it holds made each
    full collection a pause of tens of milliseconds; what it allocates while sending is freed by reference
    counting), and scheduled before the servers (nice -10 for this thread; the servers keep 0)."""
    global _warned_nice
    gc.collect()
    gc.disable()
    before = os.getpriority(os.PRIO_PROCESS, 0)
    try:
        os.setpriority(os.PRIO_PROCESS, 0, _CLIENT_NICE)
    except PermissionError:
        if not _warned_nice:
            print("  note: cannot raise the client's priority (not root); it shares the CPUs evenly", flush=True)
            _warned_nice = True
    try:
        yield
    finally:
        os.setpriority(os.PRIO_PROCESS, 0, before)  # a higher nice value is always allowed
        gc.enable()


def _run(coroutine):
    """asyncio.run, on uvloop when it is installed: the client then spends less of the shared CPUs."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def closed_loop(port, bodies, args, workdir, seconds=None, quiet=False):
    seconds = int(seconds or args.seconds)
    if args.use_wrk:
        return wrk_closed_loop(port, bodies, args.connections, seconds, workdir, quiet)
    return _run(python_closed_loop(port, bodies, args.connections, seconds))


class CpuMeter:
    """CPU seconds (user + system) spent by one server's process group and, for ours, by the PostgreSQL
    processes serving the bench database (its backends, the WAL writer, checkpointer and background writer).
    Read from /proc; unlike a rate, CPU per event hardly moves when other jobs share the cores."""

    def __init__(self, pgid: int, database_url: str | None = None):
        self.pgid, self.database_url = pgid, database_url

    @staticmethod
    def _stat(pid: str):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return int(fields[2]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def read(self) -> tuple[float, float]:
        app = 0.0
        for pid in os.listdir("/proc"):
            if pid.isdigit() and (stat := self._stat(pid)) and stat[0] == self.pgid:
                app += stat[1]
        return app, self._database()

    def _database(self) -> float:
        if not self.database_url:
            return 0.0
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as conn:
            pids = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND (datname = current_database()"
                " OR backend_type IN ('walwriter', 'checkpointer', 'background writer'))"
            ).fetchall()
        return sum(stat[1] for (pid,) in pids if (stat := self._stat(str(pid))))


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] * 1000 if values else float("nan")


# --- the servers and the database ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(port: int, proc, timeout=60):
    """Until the server answers (a GET: 405 from both apps, nothing logged)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server on port {port} exited early")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{PATH}", timeout=2)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server on port {port} did not start")


# A fixed key: the bench database holds nothing secret.
BENCH_FERNET_KEY = base64.urlsafe_b64encode(b"line-oa-console-benchmark-key-32").decode()


def create_database(url: str) -> str:
    """A fresh database for this run on the same server; returns its URL."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    return url.rsplit("/", 1)[0] + "/" + BENCH_DB


def drop_database(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def app_env(database_url: str, redis_url: str, var: Path) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "VAR_DIR": str(var),
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEY": BENCH_FERNET_KEY,
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def manage(env: dict, script: str) -> str:
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout


def prepare_db(env: dict) -> None:
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    manage(
        env,
        "from accounts.models import Channel;"
        f"Channel.objects.create(name='bench', channel_id='{CHANNEL_ID}', channel_secret='{SECRET}',"
        f"token_mode='long_lived', access_token='x', bot_user_id='{BOT}')",
    )


def purge_queue(env: dict) -> None:
    manage(
        env,
        "from config.celery import app\nwith app.connection_for_write() as c: c.default_channel.queue_purge('celery')",
    )


def gunicorn(app: str, port: int, args, env: dict, cwd: Path, worker_class: str):
    """The app under the web process's own gunicorn settings (config/gunicorn.conf.py) and ``worker_class``
    (uvicorn: the settings' own ASGI worker; sync, gthread or gevent: that WSGI worker)."""
    worker = {
        "sync": ["-k", "sync"],
        "gthread": ["-k", "gthread", "--threads", str(args.threads)],
        "gevent": ["-k", "gevent"],
    }.get(worker_class, [])
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", app, "-c", str(ROOT / "config" / "gunicorn.conf.py")]
        + ["-w", str(args.workers), "-b", f"127.0.0.1:{port}", "--log-level", "warning"]
        + worker,
        cwd=cwd,
        env={**env, "WEB_WORKER_CLASS": worker_class},
        start_new_session=True,
    )


def describe(worker_class: str, args) -> str:
    threads = f" x {args.threads} threads" if worker_class == "gthread" else ""
    return f"{args.workers} {worker_class} workers{threads}"


def stop(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


# --- measuring ----------------------------------------------------------------------------------------------


def measure(name: str, port: int, per_post: int, args, tag: str, workdir: Path, meter: CpuMeter) -> dict:
    """Warm-up, peak (closed loop), then half of that peak (open loop); prints one line."""
    warm_bodies = make_bodies(8000 if per_post == 1 else 400, per_post, f"{tag}W")
    warm = closed_loop(port, warm_bodies, args, workdir, seconds=2, quiet=True)
    # Enough distinct bodies for three times the warm-up's rate over the whole run.
    guess = warm["ok"] / warm["elapsed"] if warm["elapsed"] else 100
    posts = int(max(guess, 50) * args.seconds * 3) + 100
    bodies = make_bodies(posts, per_post, f"{tag}P")
    cpu_before = meter.read()
    peak = closed_loop(port, bodies, args, workdir)
    cpu_after = meter.read()
    answered = (peak["ok"] + peak["bad"]) * per_post or 1
    cpu_app, cpu_db = ((after - before) / answered * 1e6 for before, after in zip(cpu_before, cpu_after, strict=True))
    peak["ok"] = min(peak["ok"], posts)  # distinct bodies answered (wrk repeats them if it runs out)
    peak_posts = peak["ok"] / peak["elapsed"]
    half_bodies = make_bodies(int(peak_posts / 2 * args.seconds) + 1, per_post, f"{tag}H")
    with steady_client():
        half = _run(
            open_loop(port, half_bodies, peak_posts / 2, args.seconds, args.connections, args.fresh_connections)
        )
    row = {
        "events_per_s": peak_posts * per_post,
        "peak_p50": peak["p50"],
        "peak_p99": peak["p99"],
        "half_p50": half["p50"],
        "half_p99": half["p99"],
        "half_client_lag_p99": half.get("client_lag_p99", float("nan")),
        "answered_events": (peak["ok"] + half["ok"]) * per_post,
        "non200": peak["bad"] + half["bad"] + warm["bad"],
        "cpu_app_us": cpu_app,
        "cpu_db_us": cpu_db,
    }
    print(
        f"{name:9} {per_post:>4}/POST {row['events_per_s']:>9.0f} ev/s  peak p50 {row['peak_p50']:6.1f} ms "
        f"p99 {row['peak_p99']:6.1f} ms | half load p50 {row['half_p50']:6.1f} ms p99 {row['half_p99']:6.1f} ms"
        f" (client lag p99 {row['half_client_lag_p99']:.1f} ms)"
        f"  non-200: {row['non200']}"
        + (f" (resent after a stale keep-alive: {half['stale']})" if half.get("stale") else "")
        + f" | CPU an event at peak: server {cpu_app:.1f} µs"
        + (f" + PostgreSQL {cpu_db:.1f} µs" if meter.database_url else ""),
        flush=True,
    )
    return row


def count_stored(database_url: str, prefix: str) -> int:
    import psycopg

    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT count(*) FROM messaging_webhookevent WHERE webhook_event_id LIKE %s", [prefix + "%"]
        ).fetchone()[0]


def durable_probe(port: int, database_url: str, tag: str, posts: int = 200) -> int:
    """POST one event, and the moment its 200 arrives look for the row from another connection.
    Returns how many answered-200 events were not there yet (must be 0)."""
    import psycopg

    missing = 0
    with psycopg.connect(database_url, autocommit=True) as conn:
        for body, sig in make_bodies(posts, 1, f"{tag}D"):
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}{PATH}",
                data=body,
                headers={"x-line-signature": sig, "content-type": "application/json"},
            )
            with urllib.request.urlopen(req, timeout=10) as r:
                assert r.status == 200
            event_id = json.loads(body)["events"][0]["webhookEventId"]
            if not conn.execute(
                "SELECT 1 FROM messaging_webhookevent WHERE webhook_event_id = %s", [event_id]
            ).fetchone():
                missing += 1
    return missing


def median(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10, help="length of each peak and half-load run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=0, help="gunicorn processes, both apps (default: as deployed)")
    parser.add_argument(
        "--worker-class",
        choices=("uvicorn", "gthread", "gevent"),
        default=os.environ.get("WEB_WORKER_CLASS", "uvicorn"),
        help="ours: gunicorn worker class (default: as deployed, config/gunicorn.conf.py); uvicorn serves config.asgi,"
        " the others config.wsgi",
    )
    parser.add_argument(
        "--baseline-worker-class",
        choices=("gthread", "gevent"),
        help="the baseline's (a WSGI app): default the same as ours when ours is a WSGI one, else gthread",
    )
    parser.add_argument("--threads", type=int, default=32, help="threads per process with --worker-class gthread")
    parser.add_argument("--sync", action="store_true", help="sync WSGI workers (2 x CPUs + 1) instead, both apps")
    parser.add_argument("--connections", type=int, default=64, help="closed-loop connections, both apps")
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11"))
    parser.add_argument("--keep-db", action="store_true", help=f"keep the {BENCH_DB} database afterwards")
    parser.add_argument(
        "--fresh-connections", action="store_true", help="half load: a new connection for every POST (no keep-alive)"
    )
    parser.add_argument(
        "--sizes", default="1,100", help="events per POST to measure, comma-separated (RESULT needs 1 and 100)"
    )
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    if not args.database_url.startswith("postgres"):
        raise SystemExit("this benchmark runs on PostgreSQL: pass --database-url postgres://...")
    cpus = os.cpu_count() or 2
    args.workers = args.workers or (2 * cpus + 1 if args.sync else max(2, cpus))
    if args.sync:
        args.worker_class = args.baseline_worker_class = "sync"
    elif args.baseline_worker_class is None:
        args.baseline_worker_class = "gthread" if args.worker_class == "uvicorn" else args.worker_class
    ours_app = "config.asgi:application" if args.worker_class == "uvicorn" else "config.wsgi:application"
    args.use_wrk = shutil.which("wrk") is not None
    if not args.use_wrk:
        print("note: wrk not found (apt-get install wrk); peaks measured with the Python client instead")

    load_before = os.getloadavg()
    database_url = create_database(args.database_url)
    workdir = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    env = app_env(database_url, args.redis_url, workdir / "var")
    procs = []
    try:
        prepare_db(env)
        (workdir / "baseline.py").write_text(BASELINE)
        ours_port, base_port = free_port(), free_port()
        procs.append(gunicorn(ours_app, ours_port, args, env, ROOT, args.worker_class))
        base_env = {**os.environ, "BENCH_SECRET": SECRET}
        procs.append(gunicorn("baseline:app", base_port, args, base_env, workdir, args.baseline_worker_class))
        wait_http(ours_port, procs[0])
        wait_http(base_port, procs[1])
        print(
            f"gunicorn: ours {ours_app} on {describe(args.worker_class, args)}; baseline (WSGI) on "
            f"{describe(args.baseline_worker_class, args)}; closed loop: "
            f"{'wrk -t1' if args.use_wrk else 'Python'} -c{args.connections}; {args.seconds:g} s runs; "
            f"{args.repeats} repeats; {os.cpu_count()} CPUs; load average before {load_before[0]:.1f}",
            flush=True,
        )
        results = {(name, n): [] for n in sizes for name in ("ours", "baseline")}
        meters = {"ours": CpuMeter(procs[0].pid, database_url), "baseline": CpuMeter(procs[1].pid)}
        run_id = secrets.token_hex(3).upper()
        for r in range(args.repeats):
            for per_post in sizes:
                for name, port in (("ours", ours_port), ("baseline", base_port)):
                    tag = f"{'B' if name == 'ours' else 'X'}{run_id}R{r}N{per_post}"
                    meter = meters[name]
                    results[(name, per_post)].append(measure(name, port, per_post, args, tag, workdir, meter))
        answered = sum(row["answered_events"] for (name, _), rows in results.items() if name == "ours" for row in rows)
        missing_now = durable_probe(ours_port, database_url, f"B{run_id}")
    finally:
        for proc in procs:
            stop(proc)
    stored = count_stored(database_url, f"B{run_id}")
    purge_queue(env)
    if not args.keep_db:
        drop_database(args.database_url)
    shutil.rmtree(workdir, ignore_errors=True)
    load_after = os.getloadavg()

    print(f"\nmedians of {args.repeats} (load average before {load_before[0]:.1f}, after {load_after[0]:.1f}):")
    for per_post in sizes:
        for name in ("ours", "baseline"):
            rows = results[(name, per_post)]
            print(
                f"{name:9} {per_post:>4}/POST {median(rows, 'events_per_s'):>9.0f} ev/s  peak p50 "
                f"{median(rows, 'peak_p50'):6.1f} ms p99 {median(rows, 'peak_p99'):6.1f} ms | half load p50 "
                f"{median(rows, 'half_p50'):6.1f} ms p99 {median(rows, 'half_p99'):6.1f} ms | CPU an event "
                f"{median(rows, 'cpu_app_us') + median(rows, 'cpu_db_us'):.1f} µs"
            )
    durable = stored >= answered and missing_now == 0
    print(
        f"durability: {answered} events answered 200 (after warm-ups), {stored} stored (warm-ups included); "
        f"{missing_now} of 200 probed rows missing right after their 200; every 200 durable: {durable}"
    )
    # Each repeat measures ours and the baseline back to back, under the same background load: the median
    # of those paired ratios is what RESULT reports (the ratio of the medians is printed beside it).
    paired = {
        n: statistics.median(
            o["events_per_s"] / b["events_per_s"]
            for o, b in zip(results[("ours", n)], results[("baseline", n)], strict=True)
        )
        for n in sizes
    }
    of_medians = {
        n: median(results[("ours", n)], "events_per_s") / median(results[("baseline", n)], "events_per_s")
        for n in sizes
    }
    print("   ".join(f"ratio at {n} event(s)/POST: {paired[n]:.2f} (of medians {of_medians[n]:.2f})" for n in sizes))
    if not {1, 100} <= set(sizes):
        return
    ours100, base100 = (
        median(results[("ours", 100)], "events_per_s"),
        median(results[("baseline", 100)], "events_per_s"),
    )
    print(
        f"RESULT events_per_s={ours100:.0f} baseline_events_per_s={base100:.0f} ratio={paired[100]:.2f} "
        f"p99_ms={median(results[('ours', 1)], 'half_p99'):.1f}"
    )


if __name__ == "__main__":
    main()
