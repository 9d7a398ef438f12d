"""Campaign fan-out against linesim enforcing LINE's rate limits, with real Celery workers.

    .venv/bin/python bench/fanout.py [--friends 1000000] [--pushes 100000] [--workers 2] [--concurrency 8]
        [--database-url postgres://...] [--redis-url redis://...]

1. A multicast campaign to --friends friends (LINE: 200 requests/s of 500 recipients, so the floor is
   friends / 100,000 seconds): wall time from "send" (scheduling, which freezes the audience) to the last
   accepted batch, divided by that floor.
2. A personalised campaign of --pushes pushes (2,000/s; floor pushes / 2,000 s), same measure.
3. Baseline in the same run: a plain loop pushing with the official SDK (line-bot-sdk MessagingApi), for
   min(2,000, pushes) pushes, as pushes per second.
Peak RSS is the largest resident set of any worker process, sampled every 0.2 s. Ends with
`RESULT multicast_ratio_to_floor=X push_ratio_to_floor=X peak_rss_mb=N http_429=N baseline_push_per_s=X`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--friends", type=int, default=1_000_000)
    p.add_argument("--pushes", type=int, default=100_000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    p.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""))
    return p.parse_args()


def setup_env(args) -> Path:
    var = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
    os.environ.update({"VAR_DIR": str(var), "DJANGO_DEBUG": "1", "DJANGO_SETTINGS_MODULE": "config.settings",
                       "CAMPAIGN_SENDERS": str(args.concurrency), "LOG_LEVEL": "WARNING"})
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    if args.redis_url:
        os.environ["REDIS_URL"] = args.redis_url
    return var


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


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


class Workers:
    def __init__(self, count: int, concurrency: int):
        self.procs = [subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-l", "warning", "--pool", "prefork",
             "--concurrency", str(concurrency), "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-n", f"bench{i}@%h"], cwd=ROOT, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in range(count)]
        self.peak = 0.0
        self._stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self):
        while not self._stop.is_set():
            for proc in self.procs:
                for pid in group_pids(proc.pid):
                    self.peak = max(self.peak, rss_mb(pid))
            time.sleep(0.2)

    def stop(self):
        self._stop.set()
        import signal

        for proc in self.procs:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGTERM)


def run_campaign(channel, *, personalize: bool, name: str) -> tuple[float, int]:
    from django.db.models import Max

    from messaging.campaigns import services
    from messaging.campaigns.models import Campaign, CampaignState

    c = Campaign.objects.create(channel=channel, name=name, audience_kind="segment", audience={},
                                personalize=personalize,
                                messages=[{"type": "text", "text": "Hello {name}, our sale starts now!"}])
    t0 = time.time()
    services.campaign_schedule(campaign=c, actor=None, ask_line=False, override_quota=True)
    while True:
        c.refresh_from_db()
        if c.state in (CampaignState.DONE, CampaignState.FAILED, CampaignState.PAUSED):
            break
        time.sleep(0.2)
    last = c.batches.aggregate(m=Max("accepted_at"))["m"]
    return (last.timestamp() if last else time.time()) - t0, c.accepted_count


def baseline(linesim_url: str, token: str, user_ids: list[str]) -> float:
    from linebot.v3.messaging import ApiClient, Configuration, MessagingApi, PushMessageRequest, TextMessage

    config = Configuration(host=linesim_url, access_token=token)
    with ApiClient(config) as client:
        api = MessagingApi(client)
        t0 = time.time()
        for uid in user_ids:
            api.push_message(PushMessageRequest(to=uid, messages=[TextMessage(text="Hello")]),
                             x_line_retry_key=str(uuid.uuid4()))
        return len(user_ids) / (time.time() - t0)


def main():
    args = parse_args()
    setup_env(args)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from accounts.tests.factories import ChannelFactory
    from linesim.testing import start_server
    from messaging.models import Friend

    sim = start_server()
    try:
        channel = ChannelFactory(api_base=sim.base_url, data_api_base=sim.base_url)
        sim.register_channel(channel.channel_id, channel.channel_secret, channel.access_token)
        total = max(args.friends, args.pushes)
        t = time.time()
        rows = (Friend(channel=channel, user_id="U" + f"{i:032x}", display_name=f"F{i}", is_following=True)
                for i in range(total))
        batch = []
        for row in rows:
            batch.append(row)
            if len(batch) == 20_000:
                Friend.objects.bulk_create(batch)
                batch = []
        Friend.objects.bulk_create(batch)
        print(f"setup: {total} friends in {time.time() - t:.1f} s", flush=True)
        workers = Workers(args.workers, args.concurrency)
        time.sleep(4)
        try:
            multicast_s, accepted = run_campaign(channel, personalize=False, name="bench_multicast")
            multicast_floor = args.friends / 100_000
            print(f"multicast: {accepted} recipients in {multicast_s:.2f} s (floor {multicast_floor:.2f} s)",
                  flush=True)
            # The push campaign goes to the first --pushes friends: drop the others for it.
            Friend.objects.filter(channel=channel).update(is_following=False)
            ids = list(Friend.objects.filter(channel=channel).order_by("pk").values_list("pk", flat=True)[:args.pushes])
            Friend.objects.filter(pk__in=ids).update(is_following=True)
            push_s, pushed = run_campaign(channel, personalize=True, name="bench_push")
            push_floor = args.pushes / 2000
            print(f"push: {pushed} pushes in {push_s:.2f} s (floor {push_floor:.2f} s)", flush=True)
        finally:
            workers.stop()
        summary = sim.summary()
        targets = ["U" + secrets.token_hex(16) for _ in range(min(2000, args.pushes))]
        base = baseline(sim.base_url, channel.access_token, targets)
        print(f"{'measure':<28}{'value':>12}")
        for k, v in [("multicast wall s", multicast_s), ("multicast floor s", multicast_floor),
                     ("push wall s", push_s), ("push floor s", push_floor), ("peak worker RSS MB", workers.peak),
                     ("HTTP 429", summary["http429"]), ("baseline SDK push/s", base)]:
            print(f"{k:<28}{v:>12.2f}")
        print(f"RESULT multicast_ratio_to_floor={multicast_s / multicast_floor:.3f} "
              f"push_ratio_to_floor={push_s / push_floor:.3f} peak_rss_mb={workers.peak:.0f} "
              f"http_429={summary['http429']} baseline_push_per_s={base:.1f}")
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
