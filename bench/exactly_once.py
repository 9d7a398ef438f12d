"""Exactly once under fire: a multicast campaign while linesim drops responses and answers 500 and 429, and
Celery workers are SIGKILLed every few seconds (and restarted). linesim's ledger must show every recipient
exactly once.

    .venv/bin/python bench/exactly_once.py [--recipients 100000] [--workers 2] [--concurrency 2]
        [--kill-every 3] [--drop 0.01] [--http500 0.01] [--http429 0.005] [--latency-ms 1000]
        [--senders 4] [--threads 2] [--lease 5] [--sweep-every 2]
        [--database-url postgres://postgres@127.0.0.1:5432/bench_exactly_once] [--redis-url redis://...]

Like bench/fanout.py it uses a database of its own (SQLite in a temporary folder, or a bench_* PostgreSQL
database it creates and drops). The workers are killed one at a time, round robin, with SIGKILL to the whole
process group (pool children included), as an OOM kill or a lost machine would; a new one starts at once.
The harness runs the sweeper every --sweep-every seconds (beat runs it every 30 s in production; the
sweeper is the only thing that brings back a campaign whose every task died). Multicast latency is raised
(--latency-ms) so that the kills land while requests are in flight. Ends with
`RESULT recipients=N missing=N duplicates=N`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fanout import OwnDatabase, Workers, linesim_channel, load_friends, setup_django  # noqa: E402


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--recipients", type=int, default=100_000)
    p.add_argument("--workers", type=int, default=2, help="celery worker instances (one is killed at a time)")
    p.add_argument("--concurrency", type=int, default=2, help="prefork processes per worker")
    p.add_argument("--kill-every", type=float, default=3.0, help="seconds between SIGKILLs")
    p.add_argument("--drop", type=float, default=0.01, help="fraction of multicast responses dropped")
    p.add_argument("--http500", type=float, default=0.01)
    p.add_argument("--http429", type=float, default=0.005)
    p.add_argument("--latency-ms", type=int, default=1000, help="added to every multicast")
    p.add_argument("--senders", type=int, default=4, help="sender tasks per campaign (CAMPAIGN_SENDERS)")
    p.add_argument("--threads", type=int, default=2, help="HTTP threads per sender (CAMPAIGN_PUSH_THREADS)")
    p.add_argument("--lease", type=float, default=5.0, help="CAMPAIGN_LEASE_SECONDS")
    p.add_argument("--sweep-every", type=float, default=2.0)
    p.add_argument("--timeout", type=float, default=900)
    p.add_argument("--database-url", default="")
    p.add_argument("--redis-url", default="")
    p.add_argument("--keep-db", action="store_true")
    return p.parse_args()


def main():
    args = parse_args()
    with OwnDatabase(args.database_url, keep=args.keep_db) as db:
        setup_django(args, {"CAMPAIGN_LEASE_SECONDS": str(args.lease)})
        run(args, db.var)


def run(args, var: Path):
    from linesim.testing import start_server
    from messaging.campaigns import delivery, services
    from messaging.campaigns.models import BatchState, Campaign, CampaignState

    sim = start_server()
    workers = None
    try:
        channel = linesim_channel(sim)
        t = time.time()
        load_friends(channel, args.recipients)
        print(f"setup: {args.recipients} friends in {time.time() - t:.1f} s", flush=True)
        c = Campaign.objects.create(channel=channel, name="bench_exactly_once", audience_kind="segment",
                                    audience={}, messages=[{"type": "text", "text": "Exactly once, please."}])
        sim.fault("latency", "multicast", fraction=1.0, latencyMs=args.latency_ms)
        sim.fault("drop", "multicast", fraction=args.drop)
        sim.fault("500", "multicast", fraction=args.http500)
        sim.fault("429", "multicast", fraction=args.http429)
        workers = Workers(args.workers, args.concurrency, log_dir=var)
        time.sleep(4)  # let them come up

        t0 = time.monotonic()
        services.campaign_schedule(campaign=c, actor=None, ask_line=False, override_quota=True)
        kills, victim, sweeps = 0, 0, 0
        next_kill, next_sweep = t0 + args.kill_every, t0 + args.sweep_every
        while time.monotonic() - t0 < args.timeout:
            c.refresh_from_db()
            if c.state in (CampaignState.DONE, CampaignState.FAILED):
                break
            now = time.monotonic()
            if now >= next_kill:
                worker = workers.items[victim % len(workers.items)]
                worker.kill()
                worker.start()
                kills, victim, next_kill = kills + 1, victim + 1, now + args.kill_every
            if now >= next_sweep:
                delivery.deliveries_sweep()
                sweeps, next_sweep = sweeps + 1, now + args.sweep_every
            time.sleep(0.2)
        elapsed = time.monotonic() - t0
        workers.stop()

        summary = sim.summary()
        received = Counter(uid for send in sim.ledger(channelId=channel.channel_id) for uid in send["to"])
        expected = {"U" + f"{i:032x}" for i in range(args.recipients)}
        missing = len(expected - set(received))
        duplicates = sum(1 for n in received.values() if n > 1)
        strangers = len(set(received) - expected)
        batches = c.batches.count()
        rows = [
            ("campaign state", c.state), ("seconds", f"{elapsed:.1f}"), ("kills (SIGKILL)", kills),
            ("sweeps", sweeps), ("batches", batches),
            ("batches accepted", c.batches.filter(state=BatchState.ACCEPTED).count()),
            ("attempts (claims)", sum(c.batches.values_list("attempts", flat=True))),
            ("multicasts accepted", summary["byEndpoint"].get("multicast", 0)),
            ("answered 409 (retry key)", summary["byStatus"].get("409", 0)),
            ("answered 500", summary["http5xx"]), ("answered 429", summary["http429"]),
            ("responses dropped", summary["dropped"]), ("ledger sends", summary["requests"]),
            ("recipients expected", args.recipients), ("recipients reached", len(received)),
            ("missing", missing), ("duplicates", duplicates), ("not in the audience", strangers),
        ]
        print(f"{'measure':<28}{'value':>14}")
        for k, v in rows:
            print(f"{k:<28}{v!s:>14}")
        print(f"RESULT recipients={len(received)} missing={missing} duplicates={duplicates}")
    finally:
        if workers is not None:
            workers.stop()
        sim.stop()


if __name__ == "__main__":
    main()
