"""Thin, idempotent Celery tasks: they take primary keys and call the delivery services."""

from __future__ import annotations

from celery import shared_task

from . import conf, delivery
from .models import Campaign, CampaignState, Delivery


@shared_task(ignore_result=True)
def start_due_campaigns() -> int:
    """Beat: start every scheduled campaign whose time has come (safe to run twice at once)."""
    started = 0
    for pk in delivery.due_campaign_pks():
        started += delivery.campaign_start(campaign_pk=pk)
    return started


@shared_task(ignore_result=True)
def start_campaign(campaign_pk: int) -> bool:
    """Start the campaign and freeze it in this same task: senders are queued a broker round trip sooner."""
    if not delivery.campaign_start(campaign_pk=campaign_pk, queue_freezer=False):
        return False
    if Campaign.objects.filter(pk=campaign_pk, state=CampaignState.SENDING).exists():  # not paused by the quota
        freeze_campaign(campaign_pk)
    return True


def enqueue_senders(campaign_pk: int, kind: str = "", count: int | None = None) -> None:
    if count is None:
        count = 1 if kind in (Delivery.BROADCAST, Delivery.NARROWCAST) else conf.senders_per_campaign()
    for _i in range(count):
        send_campaign.delay(campaign_pk)


@shared_task(ignore_result=True)
def freeze_campaign(campaign_pk: int) -> None:
    """Freeze the audience chunk by chunk; senders start as soon as the first (small) chunk is committed.

    Run again (a redelivered task, the sweeper) it carries on from the stored cursor, and makes sure senders
    run for whatever exists.
    """
    kind = Campaign.objects.filter(pk=campaign_pk).values_list("delivery", flat=True).first()
    # Run eagerly (unit tests) a sender would wait for the freezer it runs inside of: start it at the end.
    eager = send_campaign.app.conf.task_always_eager
    _created, done = delivery.campaign_freeze_step(campaign_pk=campaign_pk, batches=delivery.FIRST_CHUNK_BATCHES)
    if not eager:
        _senders_if_sending(campaign_pk, kind)
    while not done:
        _created, done = delivery.campaign_freeze_step(campaign_pk=campaign_pk)
    if eager:
        _senders_if_sending(campaign_pk, kind)


def _senders_if_sending(campaign_pk: int, kind: str) -> None:
    if Campaign.objects.filter(pk=campaign_pk, state=CampaignState.SENDING).exists():
        enqueue_senders(campaign_pk, kind)


@shared_task(ignore_result=True)
def send_campaign(campaign_pk: int) -> str:
    stopped = delivery.campaign_send_loop(campaign_pk=campaign_pk)
    if stopped == "budget":
        send_campaign.delay(campaign_pk)
    return stopped


@shared_task(ignore_result=True)
def sweep_deliveries() -> dict:
    return delivery.deliveries_sweep()


@shared_task(ignore_result=True)
def poll_narrowcasts() -> None:
    pks = Campaign.objects.filter(state=CampaignState.SENDING, delivery=Delivery.NARROWCAST).exclude(
        line_request_id="").values_list("pk", flat=True)
    for pk in pks:
        delivery.narrowcast_poll(campaign_pk=pk)


@shared_task(ignore_result=True)
def pull_statistics() -> None:
    from . import stats

    stats.statistics_pull_due()


@shared_task(ignore_result=True)
def log_campaign_in_threads(campaign_pk: int) -> int:
    from .delivery.finish import campaign_log_in_threads

    return campaign_log_in_threads(campaign_pk=campaign_pk)
