"""Webhook intake throughput and latency: the app under gunicorn on PostgreSQL vs a minimal Flask baseline.

    .venv/bin/python bench/webhook_ingest.py [--seconds 10] [--workers 4] [--concurrency 64]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres] [--redis-url redis://127.0.0.1:6379/14]

Both servers run under gunicorn with the same number of sync workers on this machine. The baseline
(Flask + line-bot-sdk's WebhookParser) verifies the signature and parses the body, nothing else; ours also
stores every event (one INSERT per POST, committed) and enqueues processing. For each server and each
body size (1 and 100 events per POST) it measures peak events/s with a closed loop, then p50/p99 latency in
an open loop at half of that peak. At the end it checks that every event answered 200 is in the database.
Prints a table, then `RESULT events_per_s=N baseline_events_per_s=N ratio=X p99_ms=X` (100-event POSTs
throughput, p99 at half load for 1-event POSTs, the case LINE sends most).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
CHANNEL_ID = "2999000001"
SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
BOT = "U" + "ab" * 16

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


async def closed_loop(url: str, bodies, concurrency: int, seconds: float):
    """As fast as possible: returns (posts ok, elapsed, latencies, ok event ids count)."""
    ok, latencies, index = 0, [], 0
    deadline = time.perf_counter() + seconds
    conn = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=conn) as session:

        async def worker():
            nonlocal ok, index
            while time.perf_counter() < deadline and index < len(bodies):
                body, sig = bodies[index]
                index += 1
                t0 = time.perf_counter()
                async with session.post(
                    url, data=body, headers={"x-line-signature": sig, "content-type": "application/json"}
                ) as r:
                    await r.read()
                    if r.status == 200:
                        ok += 1
                latencies.append(time.perf_counter() - t0)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return ok, time.perf_counter() - start, latencies, index


async def open_loop(url: str, bodies, rate: float, seconds: float):
    """Fixed arrival rate (posts/s); latency measured from the scheduled send time."""
    latencies, statuses = [], []
    conn = aiohttp.TCPConnector(limit=1000)
    async with aiohttp.ClientSession(connector=conn) as session:

        async def one(body, sig, due):
            async with session.post(
                url, data=body, headers={"x-line-signature": sig, "content-type": "application/json"}
            ) as r:
                await r.read()
                statuses.append(r.status)
            latencies.append(time.perf_counter() - due)

        tasks, start = [], time.perf_counter()
        total = min(int(rate * seconds), len(bodies))
        for i in range(total):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(*bodies[i], due)))
        await asyncio.gather(*tasks)
    return latencies, statuses


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] * 1000 if values else float("nan")


def wait_http(url: str, proc, timeout=30):
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early: {url}")
        try:
            urllib.request.urlopen(url, data=b"{}", timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server did not start: {url}")


# A fixed key: the bench database holds nothing secret, and reruns must read earlier rows.
BENCH_FERNET_KEY = base64.urlsafe_b64encode(b"line-oa-console-benchmark-key-32").decode()


def bench_database(url: str, name: str) -> str:
    """The URL of a separate database for benchmarks on the same server, created when missing."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name


def app_env(args) -> dict:
    var = Path(tempfile.mkdtemp(prefix="bench-var-"))
    return {
        **os.environ,
        "DATABASE_URL": bench_database(args.database_url, "bench_line"),
        "REDIS_URL": args.redis_url,
        "VAR_DIR": str(var),
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEY": BENCH_FERNET_KEY,
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def prepare_db(env: dict) -> None:
    py = sys.executable
    subprocess.run([py, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    script = (
        "from accounts.models import Channel;"
        "from messaging.models import WebhookEvent;"
        f"Channel.objects.filter(channel_id='{CHANNEL_ID}').delete();"
        f"Channel.objects.create(name='bench', channel_id='{CHANNEL_ID}', channel_secret='{SECRET}',"
        f"token_mode='long_lived', access_token='x', bot_user_id='{BOT}')"
    )
    subprocess.run([py, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, check=True)


def count_stored(env: dict, prefix: str) -> int:
    script = (
        "from messaging.models import WebhookEvent;"
        f"print(WebhookEvent.objects.filter(webhook_event_id__startswith='{prefix}').count())"
    )
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return int(out.strip().splitlines()[-1])


def purge(env: dict) -> None:
    script = (
        "from config.celery import app\nwith app.connection_for_write() as c: c.default_channel.queue_purge('celery')\n"
        f"from accounts.models import Channel; Channel.objects.filter(channel_id='{CHANNEL_ID}').delete()"
    )
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, check=False, capture_output=True
    )


def gunicorn(app: str, port: int, workers: int, env: dict, cwd: Path):
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            app,
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--backlog",
            "2048",
        ],
        cwd=cwd,
        env=env,
        start_new_session=True,
    )


def stop(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def measure(name, url, args, prefix_base):
    rows = {}
    for per_post in (1, 100):
        posts = args.max_posts if per_post == 1 else max(200, args.max_posts // 20)
        bodies = make_bodies(posts, per_post, f"{prefix_base}P{per_post:03d}A")
        warm = max(1, len(bodies) // 10)
        asyncio.run(closed_loop(url, bodies[:warm], args.concurrency, 2))  # warm up
        bodies = bodies[warm:]
        ok, elapsed, lat, sent = asyncio.run(closed_loop(url, bodies, args.concurrency, args.seconds))
        peak_posts = ok / elapsed
        half = make_bodies(int(peak_posts / 2 * args.seconds) + 10, per_post, f"{prefix_base}P{per_post:03d}H")
        open_lat, statuses = asyncio.run(open_loop(url, half, peak_posts / 2, args.seconds))
        rows[per_post] = {
            "events_per_s": peak_posts * per_post,
            "peak_p50": pct(lat, 0.5),
            "peak_p99": pct(lat, 0.99),
            "half_p50": pct(open_lat, 0.5),
            "half_p99": pct(open_lat, 0.99),
            "ok": ok * per_post + sum(1 for s in statuses if s == 200) * per_post,
            "non200": sum(1 for s in statuses if s != 200),
        }
        print(
            f"{name:9} {per_post:>4}/POST  {rows[per_post]['events_per_s']:>9.0f} ev/s  peak p50 "
            f"{rows[per_post]['peak_p50']:6.1f} ms p99 {rows[per_post]['peak_p99']:6.1f} ms | half load p50 "
            f"{rows[per_post]['half_p50']:6.1f} ms p99 {rows[per_post]['half_p99']:6.1f} ms",
            flush=True,
        )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=max(2, (os.cpu_count() or 2)))
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--max-posts", type=int, default=60000, help="pre-built bodies per phase")
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        raise SystemExit("this benchmark runs on PostgreSQL: pass --database-url postgres://...")

    env = app_env(args)
    prepare_db(env)
    run_id = secrets.token_hex(3).upper()
    results = {}
    ours_port, base_port = free_port(), free_port()
    ours = gunicorn("config.wsgi:application", ours_port, args.workers, env, ROOT)
    try:
        url = f"http://127.0.0.1:{ours_port}/webhooks/line/{CHANNEL_ID}/"
        wait_http(url, ours)
        results["ours"] = measure("ours", url, args, f"B{run_id}")
    finally:
        stop(ours)
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "baseline.py").write_text(BASELINE)
        base = gunicorn("baseline:app", base_port, args.workers, {**os.environ, "BENCH_SECRET": SECRET}, Path(tmp))
        try:
            url = f"http://127.0.0.1:{base_port}/webhooks/line/{CHANNEL_ID}/"
            wait_http(url, base)
            results["baseline"] = measure("baseline", url, args, f"X{run_id}")
        finally:
            stop(base)

    stored = count_stored(env, f"B{run_id}")
    answered = sum(r["ok"] for r in results["ours"].values())
    purge(env)
    print(
        f"durability: {answered} events answered 200 (after warm-up), {stored} stored in this run "
        f"(warm-up included); every 200 durable: {stored >= answered}"
    )
    ours100, base100 = results["ours"][100]["events_per_s"], results["baseline"][100]["events_per_s"]
    ours1, base1 = results["ours"][1]["events_per_s"], results["baseline"][1]["events_per_s"]
    print(f"ratio at 1 event/POST: {ours1 / base1:.2f}   at 100 events/POST: {ours100 / base100:.2f}")
    print(
        f"RESULT events_per_s={ours100:.0f} baseline_events_per_s={base100:.0f} ratio={ours100 / base100:.2f} "
        f"p99_ms={results['ours'][1]['half_p99']:.1f}"
    )


if __name__ == "__main__":
    main()
