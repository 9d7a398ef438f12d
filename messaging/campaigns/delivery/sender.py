"""Senders: one Celery task per sender loops claiming batches, sends their requests from a small thread pool
that shares one keep-alive session, and writes the outcomes back a few batches per transaction.

The main thread does everything that touches the database or the rate limiter (claims, tokens, outcomes,
the lease heartbeat, noticing a pause); the pool threads only make HTTP calls. Rate-limit tokens are taken
for as many requests as may start now, in one round trip. A request that fails in a retryable way (5xx,
timeout, dropped response, 429) is tried again a few times within the same lease, always with the same
retry key; a batch that still has not gone through is given back with a backoff.
"""

from __future__ import annotations

import copy
import heapq
import itertools
import logging
import time
import uuid
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.services import line_client
from lineapi import LineAPIError

from .. import conf
from ..models import BATCH_SIZE, BatchState, Campaign, CampaignState, Delivery, DeliveryBatch, PauseReason
from ..ratelimit import limiter, limiter_key
from ..services import campaign_pause
from .leases import batch_accept, batch_fail, batch_release, batches_claim, leases_renew, outcomes_record

log = logging.getLogger(__name__)

JOB_TRIES = 4  # attempts of one request within a lease before its batch is given back
STATE_CHECK_SECONDS = 0.5  # how soon a pause is noticed
FLUSH_SECONDS = 0.1  # outcomes are written at least this often
LONG_WAIT = 5.0  # a longer rate-limit wait (hourly limits) gives the batch back instead of holding it
IDLE_EXIT_SECONDS = 15.0


def personalised(messages: list, name: str) -> list:
    """Messages with ``{name}`` in text replaced by the friend's display name."""
    if not any(m.get("type") == "text" and "{name}" in m.get("text", "") for m in messages):
        return messages
    out = copy.deepcopy(messages)
    for message in out:
        if message.get("type") == "text" and "{name}" in message.get("text", ""):
            message["text"] = message["text"].replace("{name}", name)
    return out


def reason(exc: LineAPIError) -> dict:
    return {"status": exc.status, "kind": exc.kind, "message": exc.message, "details": exc.details[:20]}


def backoff(attempts: int) -> float:
    return float(min(2 ** max(0, attempts - 1), 30))


class Job:
    """One HTTP request: a whole batch (multicast, broadcast, narrowcast) or one friend's push."""

    __slots__ = ("work", "user_id", "tries")

    def __init__(self, work: BatchWork, user_id: str | None = None):
        self.work, self.user_id, self.tries = work, user_id, 0


class BatchWork:
    """A claimed batch and what its requests have come to so far."""

    __slots__ = ("batch", "names", "open", "sent", "failures", "request_id", "retry", "halted", "failed")

    def __init__(self, batch: DeliveryBatch, names: dict | None = None):
        self.batch, self.names = batch, names or {}
        self.open = 0  # jobs not finished
        self.sent = 0
        self.failures: list[dict] = []
        self.request_id: str | None = None
        self.retry: LineAPIError | None = None  # gave up retrying within this lease
        self.halted: LineAPIError | None = None  # quota or auth: the campaign pauses
        self.failed: LineAPIError | None = None  # LINE refused the whole batch


class SendRun:
    def __init__(self, campaign: Campaign, client, *, threads: int, budget_seconds: float):
        self.campaign, self.client = campaign, client
        self.kind = campaign.delivery
        self.token = uuid.uuid4()
        self.key = limiter_key(campaign.channel.channel_id, "push" if self.kind == Delivery.PUSH else self.kind)
        self.window = max(1, threads * 2)
        self.pool = ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="campaign-send")
        self.deadline = time.monotonic() + budget_seconds
        self.ready: deque[Job] = deque()
        self.later: list[tuple[float, int, Job]] = []  # retries: (not before, tie-break, job)
        self.counter = itertools.count()
        self.inflight: dict[Future, Job] = {}
        self.works: dict[int, BatchWork] = {}
        self.writes: list = []
        self.stopped: str | None = None
        self.halt: LineAPIError | None = None
        self.not_before = 0.0  # rate-limit wait (ours or LINE's Retry-After)
        self.next_beat = self.next_check = self.next_flush = 0.0
        self.idle_since: float | None = None
        self.nothing_until = 0.0  # the last claim found nothing: do not ask again before this

    # -- the loop -------------------------------------------------------------------------------------------
    def run(self) -> str:
        try:
            while self.stopped is None:
                self._tick()
        finally:
            self._drain()
        return self.stopped

    def _tick(self) -> None:
        now = time.monotonic()
        self._housekeeping(now)
        if self.stopped:
            return
        if len(self.ready) + len(self.later) < self.window and now >= self.nothing_until and not self.halt:
            self._claim(now)  # keeps up to two windows of requests queued: few, larger claims
        if not (self.ready or self.later or self.inflight or self.works):
            self._idle(now)
            return
        self.idle_since = None
        self._submit(now)
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
        if self.halt is not None and not self.inflight:
            self.stopped = "paused"
        elif now >= self.deadline and self.stopped is None:
            self.stopped = "budget"
        if self.writes and (now >= self.next_flush or len(self.writes) >= self.window):
            self._flush(now)

    def _pause_for(self, now: float) -> float:
        """How long to wait for a request to finish before looking around again."""
        horizon = min(self.next_beat, self.next_check) - now
        if not self.ready and self.later:
            horizon = min(horizon, self.later[0][0] - now)
        if self.ready and len(self.inflight) < self.window and not self.halt:
            horizon = min(horizon, self.not_before - now)
        return max(0.0, min(horizon, 0.25))

    # -- claiming -------------------------------------------------------------------------------------------
    def _claim(self, now: float) -> None:
        per_batch = 1 if self.kind != Delivery.PUSH else BATCH_SIZE
        want = max(1, -(-(2 * self.window - len(self.ready)) // per_batch))
        batches = batches_claim(campaign_pk=self.campaign.pk, token=self.token, limit=want)
        if not batches:
            self.nothing_until = now + 0.1
            return
        names = self._names(batches) if self.kind == Delivery.PUSH else {}
        max_age = timedelta(seconds=conf.retry_key_max_age_seconds())
        for batch in batches:
            if batch.first_attempt_at and timezone.now() - batch.first_attempt_at > max_age:
                self.writes.append(lambda b=batch: batch_fail(b, {"kind": "expired", "message": _(
                    "LINE forgets a retry key after 24 hours; this batch was not retried to avoid duplicates.")}))
                continue
            work = self.works[batch.pk] = BatchWork(batch, names)
            jobs = [Job(work, uid) for uid in batch.user_ids] if self.kind == Delivery.PUSH else [Job(work)]
            work.open = len(jobs)
            self.ready.extend(jobs)
            if not jobs:
                self._finish(work)

    def _names(self, batches: list[DeliveryBatch]) -> dict:
        from messaging.models import Friend

        ids = [uid for b in batches for uid in b.user_ids]
        return dict(Friend.objects.filter(channel=self.campaign.channel, user_id__in=ids)
                    .values_list("user_id", "display_name"))

    # -- sending --------------------------------------------------------------------------------------------
    def _submit(self, now: float) -> None:
        while self.later and self.later[0][0] <= now:
            self.ready.append(heapq.heappop(self.later)[2])
        room = min(self.window - len(self.inflight), len(self.ready))
        if room <= 0 or now < self.not_before or self.halt:
            return
        wait_s = limiter().try_acquire(self.key, room)
        if wait_s > 0:
            if wait_s > LONG_WAIT:
                self._give_back_waiting(wait_s)
            self.not_before = now + min(wait_s, LONG_WAIT)
            return
        for _i in range(room):
            job = self.ready.popleft()
            self.inflight[self.pool.submit(self._call, job)] = job

    def _call(self, job: Job):
        """Runs in a pool thread: HTTP only."""
        batch, campaign = job.work.batch, self.campaign
        try:
            if self.kind == Delivery.PUSH:
                name = job.work.names.get(job.user_id) or ""
                return client_push(self.client, campaign, job.user_id, personalised(campaign.messages, name),
                                   uuid.uuid5(batch.retry_key, job.user_id)), None
            return client_send(self.client, campaign, batch), None
        except LineAPIError as exc:
            return None, exc
        except Exception as exc:  # noqa: BLE001 - never lose the batch to a surprise; retrying reuses the key
            log.exception("campaign %s: unexpected error while sending", campaign.pk)
            return None, LineAPIError("server", f"unexpected error: {exc!r}"[:200], retryable=True)

    def _collect(self, timeout: float) -> None:
        if not self.inflight:
            if timeout > 0:
                time.sleep(timeout)
            return
        done, _pending = wait(list(self.inflight), timeout=timeout, return_when=FIRST_COMPLETED)
        for future in done:
            job = self.inflight.pop(future)
            result, exc = future.result()
            self._outcome(job, result, exc)

    def _outcome(self, job: Job, result, exc: LineAPIError | None) -> None:
        work = job.work
        job.tries += 1
        if exc is None:
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
        if work.halted or work.retry:
            exc = work.halted or work.retry
            delay = 0 if work.halted else backoff(batch.attempts)
            self.writes.append(lambda: batch_release(batch, delay=delay, error=reason(exc)))
        elif work.failed:
            self.writes.append(lambda: batch_fail(batch, reason(work.failed)))
        else:
            failures, now = work.failures, timezone.now()
            accepted = work.sent if self.kind == Delivery.PUSH else batch.size
            request_id = None if self.kind == Delivery.PUSH else work.request_id
            self.writes.append(lambda: batch_accept(
                batch, request_id=request_id, accepted=accepted, failed=len(failures), at=now,
                error={"failures": failures[:20]} if failures else None))
            if self.kind in (Delivery.BROADCAST, Delivery.NARROWCAST):
                phase = "waiting" if self.kind == Delivery.NARROWCAST else ""
                self.writes.append(lambda: Campaign.objects.filter(pk=self.campaign.pk).update(
                    line_request_id=work.request_id or "", narrowcast_phase=phase))

    def _give_back_waiting(self, wait_s: float) -> None:
        """An hourly limit is exhausted: give the waiting batches back until it has room again."""
        for job in self.ready:
            if self.works.pop(job.work.batch.pk, None) is not None:
                self.writes.append(lambda b=job.work.batch: batch_release(b, delay=wait_s))
        self.ready.clear()

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

    def _drain(self) -> None:
        """Let requests in flight finish, record everything, give back what was not sent."""
        try:
            while self.inflight:
                self._collect(1.0)
            for work in list(self.works.values()):
                self.works.pop(work.batch.pk)
                self.writes.append(lambda b=work.batch: batch_release(b, delay=0))
            self._flush(time.monotonic())
            if self.halt is not None:
                halted(self.campaign, self.halt)
        finally:
            self.pool.shutdown(wait=False, cancel_futures=True)


def client_send(client, campaign: Campaign, batch: DeliveryBatch):
    common = {"retry_key": batch.retry_key, "notification_disabled": campaign.notification_disabled}
    if batch.kind == Delivery.MULTICAST:
        return client.multicast(batch.user_ids, campaign.messages, custom_aggregation_units=[campaign.unit_name],
                                **common)
    if batch.kind == Delivery.BROADCAST:
        return client.broadcast(campaign.messages, **common)
    spec = campaign.audience or {}
    limit = {"max": int(spec["max"])} if spec.get("max") else None
    return client.narrowcast(campaign.messages, filter=spec.get("filter") or None, limit=limit, **common)


def client_push(client, campaign: Campaign, user_id: str, messages: list, key: uuid.UUID):
    return client.push(user_id, messages, retry_key=key, notification_disabled=campaign.notification_disabled,
                       custom_aggregation_units=[campaign.unit_name])


def halted(campaign: Campaign, exc: LineAPIError) -> None:
    """LINE's monthly limit or a refused token: pause the campaign and say why."""
    from .start import tell_marketer

    if exc.kind == "quota":
        note = _("LINE's monthly message limit was reached; the campaign is paused. "
                 "Resume it when the quota allows (an admin can override).")
        if campaign_pause(campaign=campaign, actor=None, reason=PauseReason.QUOTA, note=note):
            tell_marketer(campaign, note)
    else:
        campaign_pause(campaign=campaign, actor=None, reason=PauseReason.AUTH,
                       note=_("LINE refused the access token: %(message)s") % {"message": exc.message})


def idle_wait(campaign_pk: int) -> float | None:
    """How long an idle sender should wait for more work, or None when it should stop.

    More work comes from the freezer, from backoffs running out, and from other senders' leases running out
    (their holder died): a live sender takes those over at once instead of waiting for the sweeper.
    """
    frozen = Campaign.objects.filter(pk=campaign_pk).values_list("frozen", flat=True).first()
    if not frozen:
        return 0.1
    now = timezone.now()
    times = [t for t in (
        DeliveryBatch.objects.filter(campaign_id=campaign_pk, state=BatchState.PENDING)
        .order_by("next_attempt_at").values_list("next_attempt_at", flat=True).first(),
        DeliveryBatch.objects.filter(campaign_id=campaign_pk, state=BatchState.CLAIMED)
        .order_by("claimed_until").values_list("claimed_until", flat=True).first(),
    ) if t is not None]
    if not times:
        return None
    delay = (min(times) - now).total_seconds()
    return max(0.05, delay) if delay < max(10.0, conf.lease_seconds() + 1) else None


def campaign_send_loop(*, campaign_pk: int, budget_seconds: float = 240) -> str:
    """Claim and send batches until none is left; returns why it stopped ("idle", "paused", "budget")."""
    campaign = Campaign.objects.select_related("channel").get(pk=campaign_pk)
    if campaign.state != CampaignState.SENDING:
        return "paused"
    run = SendRun(campaign, line_client(campaign.channel), threads=conf.send_threads(),
                  budget_seconds=budget_seconds)
    return run.run()
