"""Campaign fan-out against linesim enforcing LINE's rate limits, with real Celery workers.

    .venv/bin/python bench/fanout.py [--friends 1000000] [--pushes 100000] [--workers 1] [--concurrency 2]
        [--senders 2] [--threads 8] [--database-url postgres://postgres@127.0.0.1:5432/bench_campaigns]
        [--redis-url redis://127.0.0.1:6379/12] [--keep-db]

The bench uses a database of its own: without --database-url a SQLite file in a temporary folder; with a
PostgreSQL URL it creates that database (its name must start with ``bench_``), and drops it at the end
unless --keep-db. Friends are loaded with COPY (PostgreSQL) or executemany (SQLite) and analysed.

1. A multicast campaign to --friends friends (LINE: 200 requests/s of 500 recipients, so the floor is
   friends / 100,000 seconds): wall time from "send" (scheduling, which freezes the audience) to the last
   accepted batch, divided by that floor.
2. A personalised campaign of --pushes pushes (2,000/s; floor pushes / 2,000 s), same measure.
3. Baseline in the same run: a plain loop pushing with the official SDK (line-bot-sdk MessagingApi), for
   min(2,000, pushes) pushes, as pushes per second.
Peak RSS is the largest resident set of any worker process, sampled every 0.2 s. CPU per request (user +
system, from /proc, of all worker processes and of linesim, over each campaign) is printed too: the machine
is shared, so wall-clock figures move with other people's load while CPU per request does not. Ends with
`RESULT multicast_ratio_to_floor=X push_ratio_to_floor=X peak_rss_mb=N http_429=N baseline_push_per_s=X`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--friends", type=int, default=1_000_000)
    p.add_argument("--pushes", type=int, default=100_000)
    p.add_argument("--workers", type=int, default=1, help="celery worker instances")
    p.add_argument("--concurrency", type=int, default=2, help="prefork processes per worker")
    p.add_argument("--senders", type=int, default=2, help="sender tasks per campaign (CAMPAIGN_SENDERS)")
    p.add_argument("--threads", type=int, default=8, help="HTTP threads per sender (CAMPAIGN_PUSH_THREADS)")
    p.add_argument("--database-url", default="", help="PostgreSQL URL of a bench_* database to create")
    p.add_argument("--redis-url", default="")
    p.add_argument("--keep-db", action="store_true")
    p.add_argument("--skip", default="", help="comma-separated phases to skip: multicast, push, baseline")
    return p.parse_args()


# -- a database of the bench's own --------------------------------------------------------------------------


class OwnDatabase:
    """SQLite under a temporary VAR_DIR, or a PostgreSQL database this bench creates and drops."""

    def __init__(self, url: str, keep: bool = False):
        self.url, self.keep = url, keep
        self.var = Path(tempfile.mkdtemp(prefix="bench-campaigns-"))
        self.name = urlsplit(url).path.lstrip("/") if url else ""
        if url and not self.name.startswith("bench_"):
            raise SystemExit(f"refusing to use database {self.name!r}: give a bench_* name, the bench drops it")

    def _admin(self):
        import psycopg

        parts = urlsplit(self.url)
        return psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True)

    def __enter__(self) -> OwnDatabase:
        if self.url:
            with self._admin() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{self.name}"')
            os.environ["DATABASE_URL"] = self.url
        os.environ["VAR_DIR"] = str(self.var)
        return self

    def __exit__(self, *exc) -> None:
        if self.url and not self.keep:
            from django.db import connections

            connections.close_all()
            with self._admin() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        if not self.keep:
            import shutil

            shutil.rmtree(self.var, ignore_errors=True)


def setup_django(args, extra_env: dict | None = None) -> None:
    os.environ.update(
        {
            "DJANGO_DEBUG": "1",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "LOG_LEVEL": "WARNING",
            "CAMPAIGN_SENDERS": str(args.senders),
            "CAMPAIGN_PUSH_THREADS": str(args.threads),
            **(extra_env or {}),
        }
    )
    if args.redis_url:
        os.environ["REDIS_URL"] = args.redis_url
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if args.redis_url:
        import redis

        r = redis.Redis.from_url(args.redis_url)
        r.delete("celery", *r.keys("campaigns:ratelimit:*"))


def load_friends(channel, total: int) -> None:
    """Insert ``total`` following friends fast (COPY on PostgreSQL), then ANALYZE like autovacuum would."""
    from django.db import connection, transaction
    from django.utils import timezone

    from messaging.models import Friend

    template = Friend(channel=channel, is_following=True, created_at=timezone.now())
    fields = [f for f in Friend._meta.concrete_fields if not f.primary_key]
    base = [f.get_db_prep_save(getattr(template, f.attname), connection) for f in fields]
    at_uid, at_name = [f.name for f in fields].index("user_id"), [f.name for f in fields].index("display_name")
    cols = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(Friend._meta.db_table)

    def rows():
        for i in range(total):
            row = list(base)
            row[at_uid], row[at_name] = "U" + f"{i:032x}", f"F{i}"
            yield row

    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in rows():
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(fields))
            batch = []
            for row in rows():
                batch.append(row)
                if len(batch) == 50_000:
                    cursor.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", batch)
                    batch = []
            if batch:
                cursor.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", batch)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}")


def following(channel, count: int) -> None:
    """Make exactly the first ``count`` friends (by pk) the ones following: a campaign's audience."""
    from messaging.models import Friend

    friends = Friend.objects.filter(channel=channel)
    cut = friends.order_by("pk").values_list("pk", flat=True)[count - 1 : count].first()
    friends.filter(pk__gt=cut).update(is_following=False)
    friends.filter(pk__lte=cut, is_following=False).update(is_following=True)


def linesim_channel(sim):
    from accounts.tests.factories import ChannelFactory

    channel = ChannelFactory(api_base=sim.base_url, data_api_base=sim.base_url)
    sim.register_channel(channel.channel_id, channel.channel_secret, channel.access_token)
    return channel


# -- workers ---------------------------------------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pids) -> float:
    """User + system CPU of these processes (and of their children that exited), from /proc/<pid>/stat."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
    return total / os.sysconf("SC_CLK_TCK")


def group_pids(pgid: int) -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if os.getpgid(int(d.name)) == pgid:
                    pids.append(int(d.name))
            except OSError:
                continue
    return pids


class Worker:
    """One `celery worker` in its own process group (so a SIGKILL takes its pool children too)."""

    def __init__(self, name: str, concurrency: int, log_path: Path | None = None):
        self.name, self.concurrency, self.log_path = name, concurrency, log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        out = self.log_path.open("a") if self.log_path else subprocess.DEVNULL
        worker = "-m celery -A config worker -l warning --pool prefork --without-gossip --without-mingle"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                *worker.split(),
                "--without-heartbeat",
                "--concurrency",
                str(self.concurrency),
                "-n",
                f"{self.name}@%h",
            ],
            cwd=ROOT,
            start_new_session=True,
            stdout=out,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(OSError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(OSError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


class Workers:
    def __init__(self, count: int, concurrency: int, log_dir: Path | None = None):
        self.items = [
            Worker(f"bench{i}", concurrency, log_dir / f"worker{i}.log" if log_dir else None) for i in range(count)
        ]
        for w in self.items:
            w.start()
        self.peak = 0.0
        self._stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self):
        while not self._stop.is_set():
            for w in self.items:
                if w.proc is not None:
                    for pid in group_pids(w.proc.pid):
                        self.peak = max(self.peak, rss_mb(pid))
            time.sleep(0.2)

    def cpu(self) -> float:
        """CPU seconds used so far by every process of every worker."""
        return sum(cpu_seconds(group_pids(w.proc.pid)) for w in self.items if w.proc is not None)

    def stop(self):
        self._stop.set()
        for w in self.items:
            w.stop()


# -- measuring -------------------------------------------------------------------------------------------------


def cpu_now(workers: Workers, sim) -> tuple[float, float]:
    """CPU seconds so far of (every worker process, linesim): the machine is shared, so CPU per request is
    the figure that other people's load does not move."""
    return workers.cpu(), cpu_seconds([sim.process.pid])


def run_campaign(channel, *, personalize: bool, name: str, timeout: float = 1800) -> tuple[float, int, int]:
    """Schedule a campaign to every following friend; returns (seconds to the last accepted batch, accepted,
    recipients)."""
    from django.db.models import Max

    from messaging.campaigns import services
    from messaging.campaigns.models import Campaign, CampaignState

    c = Campaign.objects.create(
        channel=channel,
        name=name,
        audience_kind="segment",
        audience={},
        personalize=personalize,
        messages=[{"type": "text", "text": "Hello {name}, our sale starts now!"}],
    )
    t0 = time.time()
    services.campaign_schedule(campaign=c, actor=None, ask_line=False, override_quota=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        c.refresh_from_db()
        if c.state in (CampaignState.DONE, CampaignState.FAILED, CampaignState.PAUSED):
            break
        time.sleep(0.2)
    last = c.batches.aggregate(m=Max("accepted_at"))["m"]
    return (last.timestamp() if last else time.time()) - t0, c.accepted_count, c.recipients_count


def baseline(linesim_url: str, token: str, user_ids: list[str]) -> float:
    from linebot.v3.messaging import ApiClient, Configuration, MessagingApi, PushMessageRequest, TextMessage

    config = Configuration(host=linesim_url, access_token=token)
    with ApiClient(config) as client:
        api = MessagingApi(client)
        t0 = time.time()
        for uid in user_ids:
            api.push_message(
                PushMessageRequest(to=uid, messages=[TextMessage(text="Hello")]), x_line_retry_key=str(uuid.uuid4())
            )
        return len(user_ids) / (time.time() - t0)


def main():
    args = parse_args()
    with OwnDatabase(args.database_url, keep=args.keep_db):
        setup_django(args)
        bench(args)


def bench(args):
    from linesim.testing import start_server

    sim = start_server()
    workers = None
    try:
        channel = linesim_channel(sim)
        total = max(args.friends, args.pushes)
        t = time.time()
        load_friends(channel, total)
        print(f"setup: {total} friends in {time.time() - t:.1f} s", flush=True)
        workers = Workers(args.workers, args.concurrency)
        time.sleep(4)
        skip = set(args.skip.split(","))
        multicast_s = push_s = pushed = 0.0
        cpu_us = {"multicast": [0.0, 0.0], "push": [0.0, 0.0]}  # [workers, linesim] CPU us per request
        multicast_floor, push_floor = args.friends / 100_000, args.pushes / 2000
        if "multicast" not in skip:
            following(channel, args.friends)
            cpu = cpu_now(workers, sim)
            multicast_s, accepted, recipients = run_campaign(channel, personalize=False, name="bench_multicast")
            requests = max(1, -(-recipients // 500))
            cpu_us["multicast"] = [1e6 * (b - a) / requests for a, b in zip(cpu, cpu_now(workers, sim), strict=True)]
            print(
                f"multicast: {accepted}/{recipients} recipients in {multicast_s:.2f} s (floor "
                f"{multicast_floor:.2f} s, {recipients / 500 / multicast_s:.0f} requests/s)",
                flush=True,
            )
        if "push" not in skip:
            following(channel, args.pushes)
            cpu = cpu_now(workers, sim)
            push_s, pushed, _n = run_campaign(channel, personalize=True, name="bench_push")
            cpu_us["push"] = [1e6 * (b - a) / max(pushed, 1) for a, b in zip(cpu, cpu_now(workers, sim), strict=True)]
            print(
                f"push: {pushed} pushes in {push_s:.2f} s (floor {push_floor:.2f} s, {pushed / push_s:.0f}/s)",
                flush=True,
            )
        workers.stop()
        summary = sim.summary()
        targets = ["U" + uuid.uuid4().hex for _ in range(min(2000, args.pushes))]
        base = baseline(sim.base_url, channel.access_token, targets) if "baseline" not in skip else 0.0
        print(f"{'measure':<28}{'value':>12}")
        for k, v in [
            ("multicast wall s", multicast_s),
            ("multicast floor s", multicast_floor),
            ("multicast ratio", multicast_s / multicast_floor),
            ("push wall s", push_s),
            ("push floor s", push_floor),
            ("push ratio", push_s / push_floor),
            ("push/s", pushed / max(push_s, 1e-9)),
            ("peak worker RSS MB", workers.peak),
            ("HTTP 429", summary["http429"]),
            ("baseline SDK push/s", base),
            ("push/s vs SDK loop", pushed / max(push_s, 1e-9) / base if base else 0.0),
            ("workers CPU us/multicast", cpu_us["multicast"][0]),
            ("linesim CPU us/multicast", cpu_us["multicast"][1]),
            ("workers CPU us/push", cpu_us["push"][0]),
            ("linesim CPU us/push", cpu_us["push"][1]),
        ]:
            print(f"{k:<28}{v:>12.2f}")
        print(
            f"RESULT multicast_ratio_to_floor={multicast_s / multicast_floor:.3f} "
            f"push_ratio_to_floor={push_s / push_floor:.3f} peak_rss_mb={workers.peak:.0f} "
            f"http_429={summary['http429']} baseline_push_per_s={base:.1f}"
        )
    finally:
        if workers is not None:
            workers.stop()
        sim.stop()


if __name__ == "__main__":
    main()
