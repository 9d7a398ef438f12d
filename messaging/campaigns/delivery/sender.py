"""Senders: one Celery task per sender loops claiming batches; a few HTTP threads sharing one keep-alive
session send their requests; the outcomes are written back a few batches per transaction.

The main thread does everything that touches the database or the shared rate limiter: claims, outcome
rows, the lease heartbeat, noticing a pause, and buying rate-limit tokens in bulk (one round trip for
dozens of requests). The HTTP threads take requests from a queue, spend one token each and call LINE.
A request that fails in a retryable way (5xx, timeout, dropped response, 429) is tried again a few times
within the lease, always with the same retry key; a batch that still has not gone through is given back
with a backoff.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import queue
import threading
import time
import uuid
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.services import line_client
from lineapi import LineAPIError

from .. import conf
from ..models import BATCH_SIZE, BatchState, Campaign, CampaignState, Delivery, DeliveryBatch, PauseReason
from ..ratelimit import limiter, limiter_key
from ..services import campaign_pause
from .calls import backoff, reason, send_batch, send_push
from .leases import batch_accept, batch_fail, batch_release, batches_claim, leases_renew, outcomes_record

log = logging.getLogger(__name__)

JOB_TRIES = 4  # attempts of one request within a lease before its batch is given back
STATE_CHECK_SECONDS = 0.5  # how soon a pause is noticed
FLUSH_SECONDS = 0.1  # outcomes are written at least this often
COLLECT_SECONDS = 0.005  # a push sender's main thread looks at outcomes this often
LONG_WAIT = 5.0  # a longer rate-limit wait (hourly limits) gives the batch back instead of holding it
IDLE_EXIT_SECONDS = 15.0
UNSENT = object()  # a request the sender stopped before making


class Job:
    """One HTTP request: a whole batch (multicast, broadcast, narrowcast) or one friend's push."""

    __slots__ = ("work", "user_id", "tries")

    def __init__(self, work: BatchWork, user_id: str | None = None):
        self.work, self.user_id, self.tries = work, user_id, 0


class BatchWork:
    """A claimed batch and what its requests have come to so far."""

    __slots__ = ("batch", "names", "open", "sent", "failures", "request_id", "retry", "halted", "failed", "unsent")

    def __init__(self, batch: DeliveryBatch, names: dict | None = None):
        self.batch, self.names = batch, names or {}
        self.open = 0  # requests not finished
        self.sent = 0
        self.failures: list[dict] = []
        self.request_id: str | None = None
        self.retry: LineAPIError | None = None  # still failing after JOB_TRIES: back off
        self.halted: LineAPIError | None = None  # quota or auth: the campaign pauses
        self.failed: LineAPIError | None = None  # LINE refused the whole batch
        self.unsent = False  # the sender stopped before every request was made


class Permits:
    """Rate-limit tokens this sender holds: bought in bulk by the main thread, spent one per request."""

    def __init__(self):
        self._cond = threading.Condition()
        self.level = 0
        self.waiting = 0
        self.closed = False

    def add(self, n: int) -> None:
        with self._cond:
            self.level += n
            self._cond.notify(n)

    def take(self, timeout: float) -> bool:
        with self._cond:
            self.waiting += 1
            try:
                self._cond.wait_for(lambda: self.level > 0 or self.closed, timeout)
            finally:
                self.waiting -= 1
            if self.level > 0 and not self.closed:
                self.level -= 1
                return True
            return False

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


class SendRun:
    def __init__(self, campaign: Campaign, client, *, threads: int, budget_seconds: float):
        self.campaign, self.client = campaign, client
        self.kind = campaign.delivery
        self.token = uuid.uuid4()
        self.key = limiter_key(campaign.channel.channel_id, "push" if self.kind == Delivery.PUSH else self.kind)
        self.threads = max(1, threads)
        bucket = limiter().rate_of(self.key).limit
        self.chunk = max(1, min(bucket // 4, self.threads * 8))  # tokens bought per round trip
        # Requests kept queued ahead of the threads; pushes keep a chunk's worth, so tokens are bought a
        # chunk at a time (one limiter round trip per ~20 pushes in bench/fanout.py instead of one per few).
        self.window = max(self.threads * 2, self.chunk if self.kind == Delivery.PUSH else 0)
        self.deadline = time.monotonic() + budget_seconds
        self.jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self.outcomes: queue.SimpleQueue = queue.SimpleQueue()
        self.permits = Permits()
        self.closing = threading.Event()
        self.later: list[tuple[float, int, Job]] = []  # retries: (not before, tie-break, job)
        self.counter = itertools.count()
        self.works: dict[int, BatchWork] = {}
        self.writes: list = []
        self.stopped: str | None = None
        self.halt: LineAPIError | None = None
        self.not_before = 0.0  # rate-limit wait (ours, or LINE's Retry-After)
        self.next_beat = self.next_check = self.next_flush = 0.0
        self.idle_since: float | None = None
        self.nothing_until = 0.0  # the last claim found nothing: do not ask again before this

    # -- the loop -------------------------------------------------------------------------------------------
    def run(self) -> str:
        pool = [
            threading.Thread(target=self._http_thread, name=f"campaign-send-{i}", daemon=True)
            for i in range(self.threads)
        ]
        for thread in pool:
            thread.start()
        try:
            while self.stopped is None:
                self._tick()
        finally:
            self._drain(pool)
        return self.stopped

    def _tick(self) -> None:
        now = time.monotonic()
        self._housekeeping(now)
        if self.stopped:
            return
        while self.later and self.later[0][0] <= now:
            self.jobs.put(heapq.heappop(self.later)[2])
        if self.jobs.qsize() < self.window and now >= self.nothing_until and not self.halt:
            self._claim(now)
        if not self.works:
            self._idle(now)
            return
        self.idle_since = None
        self._buy_permits(now)
        self._collect(self._pause_for(now))

    def _housekeeping(self, now: float) -> None:
        if now >= self.next_beat:
            leases_renew(campaign_pk=self.campaign.pk, token=self.token)
            self.next_beat = now + max(0.5, conf.lease_seconds() / 3)
        if now >= self.next_check:
            self.next_check = now + STATE_CHECK_SECONDS
            state = Campaign.objects.filter(pk=self.campaign.pk).values_list("state", flat=True).first()
            if state != CampaignState.SENDING:
                self.stopped = "paused"
        if self.halt is not None:
            self.stopped = "paused"
        elif now >= self.deadline and self.stopped is None:
            self.stopped = "budget"
        if self.writes and (now >= self.next_flush or len(self.writes) >= self.window):
            self._flush(now)

    def _pause_for(self, now: float) -> float:
        """How long to wait for an outcome before looking around again."""
        horizon = min(self.next_beat, self.next_check, now + 0.05) - now
        if self.later:
            horizon = min(horizon, self.later[0][0] - now)
        if self.permits.waiting and self.not_before > now:
            horizon = min(horizon, self.not_before - now)
        return max(0.001, horizon)

    # -- claiming -------------------------------------------------------------------------------------------
    def _claim(self, now: float) -> None:
        per_batch = 1 if self.kind != Delivery.PUSH else BATCH_SIZE
        want = max(1, -(-(2 * self.window - self.jobs.qsize()) // per_batch))
        batches = batches_claim(campaign_pk=self.campaign.pk, token=self.token, limit=want)
        if not batches:
            self.nothing_until = now + 0.1
            return
        names = self._names(batches) if self.kind == Delivery.PUSH else {}
        max_age = timedelta(seconds=conf.retry_key_max_age_seconds())
        for batch in batches:
            if batch.first_attempt_at and timezone.now() - batch.first_attempt_at > max_age:
                self.writes.append(lambda b=batch: batch_fail(b, expired()))
                continue
            work = self.works[batch.pk] = BatchWork(batch, names)
            jobs = [Job(work, uid) for uid in batch.user_ids] if self.kind == Delivery.PUSH else [Job(work)]
            work.open = len(jobs)
            for job in jobs:
                self.jobs.put(job)
            if not jobs:
                self._finish(work)

    def _names(self, batches: list[DeliveryBatch]) -> dict:
        from messaging.models import Friend

        ids = [uid for b in batches for uid in b.user_ids]
        return dict(
            Friend.objects.filter(channel=self.campaign.channel, user_id__in=ids).values_list("user_id", "display_name")
        )

    # -- rate-limit tokens ----------------------------------------------------------------------------------
    def _buy_permits(self, now: float) -> None:
        # Held tokens stay few (two rounds' worth): a token granted long before its request is sent would
        # let requests bunch up at LINE later than our bucket allowed.
        need = min(self.jobs.qsize() + self.permits.waiting, 2 * self.chunk) - self.permits.level
        if need <= 0 or now < self.not_before or self.halt:
            return
        if self.permits.level and need < self.chunk // 2:
            return  # tokens in hand: top up by a sizeable chunk later rather than a few now (each is a round trip)
        count = min(need, self.chunk)
        wait_s = limiter().try_acquire(self.key, count)
        if wait_s <= 0:
            self.permits.add(count)
        elif wait_s > LONG_WAIT:
            self._give_back_queued(wait_s)
        else:
            self.not_before = now + wait_s

    def _give_back_queued(self, wait_s: float) -> None:
        """An hourly limit is exhausted: give the queued batches back until it has room again."""
        while True:
            try:
                job = self.jobs.get_nowait()
            except queue.Empty:
                return
            if job is not None and self.works.pop(job.work.batch.pk, None) is not None:
                self.writes.append(lambda b=job.work.batch: batch_release(b, delay=wait_s))

    # -- the HTTP threads -----------------------------------------------------------------------------------
    def _http_thread(self) -> None:
        while not self.closing.is_set():
            try:
                job = self.jobs.get(timeout=0.2)
            except queue.Empty:
                continue
            if job is None:
                return
            while not self.permits.take(0.2):
                if self.closing.is_set() or self.halt:
                    break
            else:
                if not self.halt:
                    self.outcomes.put((job, *self._call(job)))
                    continue
            self.outcomes.put((job, None, UNSENT))

    def _call(self, job: Job):
        batch, campaign = job.work.batch, self.campaign
        try:
            if self.kind == Delivery.PUSH:
                return send_push(self.client, campaign, batch, job.user_id, job.work.names.get(job.user_id) or ""), None
            return send_batch(self.client, campaign, batch), None
        except LineAPIError as exc:
            if exc.kind in ("quota", "auth"):
                self.halt = self.halt or exc  # the other threads stop at once
            return None, exc
        except Exception as exc:  # noqa: BLE001 - never lose the batch to a surprise; retrying reuses the key
            log.exception("campaign %s: unexpected error while sending", campaign.pk)
            return None, LineAPIError("server", f"unexpected error: {exc!r}"[:200], retryable=True)

    # -- outcomes -------------------------------------------------------------------------------------------
    def _collect(self, timeout: float) -> None:
        if timeout > 0 and self.kind == Delivery.PUSH:
            # Pushes finish a thousand times a second: the outcomes are taken a few milliseconds' worth at a
            # time (the queues and tokens ahead of the threads last longer), not with a wake-up each.
            time.sleep(min(timeout, COLLECT_SECONDS))
            timeout = 0
        try:
            item = self.outcomes.get(timeout=timeout) if timeout > 0 else self.outcomes.get_nowait()
        except queue.Empty:
            return
        while True:
            self._outcome(*item)
            try:
                item = self.outcomes.get_nowait()
            except queue.Empty:
                return

    def _outcome(self, job: Job, result, exc) -> None:
        work = job.work
        job.tries += 1
        if exc is UNSENT:
            work.unsent = True
        elif exc is None:
            work.sent += 1
            work.request_id = result.accepted_request_id or result.request_id
        elif exc.kind in ("quota", "auth"):
            self.halt = self.halt or exc
            work.halted = exc
        elif exc.kind == "rate_limit":
            # LINE's own 429: someone else shares the budget. Everyone here waits, then the same key again.
            delay = exc.retry_after or 1.0
            self.not_before = max(self.not_before, time.monotonic() + min(delay, LONG_WAIT))
            if job.tries < JOB_TRIES * 2:
                return self._again(job, delay)
            work.retry = exc
        elif exc.retryable:
            if job.tries < JOB_TRIES:
                return self._again(job, 0.2 * 2**job.tries)
            work.retry = exc
        elif self.kind == Delivery.PUSH:
            work.failures.append({"user_id": job.user_id, **reason(exc)})
        else:
            work.failed = exc
        work.open -= 1
        if work.open == 0:
            self._finish(work)
        return None

    def _again(self, job: Job, delay: float) -> None:
        heapq.heappush(self.later, (time.monotonic() + delay, next(self.counter), job))

    def _finish(self, work: BatchWork) -> None:
        """All requests of a batch are over: queue its outcome row."""
        self.works.pop(work.batch.pk, None)
        batch = work.batch
        if work.halted or work.retry or work.unsent:
            exc = work.halted or work.retry
            delay = backoff(batch.attempts) if work.retry and not work.halted else 0
            error = reason(exc) if exc else None
            self.writes.append(lambda: batch_release(batch, delay=delay, error=error))
        elif work.failed:
            self.writes.append(lambda: batch_fail(batch, reason(work.failed)))
        else:
            failures, now = work.failures, timezone.now()
            accepted = work.sent if self.kind == Delivery.PUSH else batch.size
            request_id = None if self.kind == Delivery.PUSH else work.request_id
            self.writes.append(
                lambda: batch_accept(
                    batch,
                    request_id=request_id,
                    accepted=accepted,
                    failed=len(failures),
                    at=now,
                    error={"failures": failures[:20]} if failures else None,
                )
            )
            if self.kind in (Delivery.BROADCAST, Delivery.NARROWCAST):
                phase = "waiting" if self.kind == Delivery.NARROWCAST else ""
                self.writes.append(
                    lambda: Campaign.objects.filter(pk=self.campaign.pk).update(
                        line_request_id=work.request_id or "", narrowcast_phase=phase
                    )
                )

    # -- idling, stopping -----------------------------------------------------------------------------------
    def _idle(self, now: float) -> None:
        from .finish import campaign_finish_if_complete

        self.idle_since = self.idle_since or now
        pause = idle_wait(self.campaign.pk)
        if pause is None or now - self.idle_since > IDLE_EXIT_SECONDS:
            self._flush(now)
            campaign_finish_if_complete(campaign_pk=self.campaign.pk)
            self.stopped = "idle"
            return
        self.nothing_until = 0.0
        time.sleep(min(pause, max(0.0, self.next_beat - now), 1.0))

    def _flush(self, now: float) -> None:
        writes, self.writes = self.writes, []
        outcomes_record(writes)
        self.next_flush = now + FLUSH_SECONDS

    def _drain(self, pool: list[threading.Thread]) -> None:
        """Let requests in flight finish, record everything, give back what was not sent."""
        self.closing.set()
        self.permits.close()
        for _thread in pool:
            self.jobs.put(None)
        for thread in pool:
            thread.join()
        while True:
            try:
                job = self.jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                self.outcomes.put((job, None, UNSENT))
        for _at, _n, job in self.later:
            self.outcomes.put((job, None, UNSENT))
        self.later.clear()
        self._collect(0)
        for work in list(self.works.values()):  # only a surprise leaves one here; give it back anyway
            self.works.pop(work.batch.pk)
            self.writes.append(lambda b=work.batch: batch_release(b, delay=0))
        self._flush(time.monotonic())
        if self.halt is not None:
            halted(self.campaign, self.halt)


def expired() -> dict:
    """Why a batch whose retry key is too old to use is failed instead of tried again."""
    message = _("LINE forgets a retry key after 24 hours; this batch was not retried to avoid duplicates.")
    return {"kind": "expired", "message": message}


def halted(campaign: Campaign, exc: LineAPIError) -> None:
    """LINE's monthly limit or a refused token: pause the campaign and say why."""
    from .start import tell_marketer

    if exc.kind == "quota":
        note = _(
            "LINE's monthly message limit was reached; the campaign is paused. "
            "Resume it when the quota allows (an admin can override)."
        )
        if campaign_pause(campaign=campaign, actor=None, reason=PauseReason.QUOTA, note=note):
            tell_marketer(campaign, note)
    else:
        campaign_pause(
            campaign=campaign,
            actor=None,
            reason=PauseReason.AUTH,
            note=_("LINE refused the access token: %(message)s") % {"message": exc.message},
        )


def idle_wait(campaign_pk: int) -> float | None:
    """How long an idle sender should wait for more work, or None when it should stop.

    More work comes from the freezer, from backoffs running out, and from other senders' leases running out
    (their holder died): a live sender takes those over at once instead of waiting for the sweeper.
    """
    frozen = Campaign.objects.filter(pk=campaign_pk).values_list("frozen", flat=True).first()
    if not frozen:
        return 0.1
    now = timezone.now()
    times = [
        t
        for t in (
            DeliveryBatch.objects.filter(campaign_id=campaign_pk, state=BatchState.PENDING)
            .order_by("next_attempt_at")
            .values_list("next_attempt_at", flat=True)
            .first(),
            DeliveryBatch.objects.filter(campaign_id=campaign_pk, state=BatchState.CLAIMED)
            .order_by("claimed_until")
            .values_list("claimed_until", flat=True)
            .first(),
        )
        if t is not None
    ]
    if not times:
        return None
    delay = (min(times) - now).total_seconds()
    return max(0.05, delay) if delay < max(10.0, conf.lease_seconds() + 1) else None


def campaign_send_loop(*, campaign_pk: int, budget_seconds: float = 240) -> str:
    """Claim and send batches until none is left; returns why it stopped ("idle", "paused", "budget")."""
    campaign = Campaign.objects.select_related("channel").get(pk=campaign_pk)
    if campaign.state != CampaignState.SENDING:
        return "paused"
    run = SendRun(campaign, line_client(campaign.channel), threads=conf.send_threads(), budget_seconds=budget_seconds)
    return run.run()
