"""Celery tasks: thin wrappers that take primary keys and call services. All are safe to run twice."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from accounts.services import line_client
from lineapi import LineAPIError

from . import content, sending
from .models import Friend, Group
from .webhooks import processing

log = logging.getLogger(__name__)


@shared_task(acks_late=True)
def process_webhook_sources(channel_pk: int, source_ids: list[str]) -> int:
    """Process the stored events of these sources, each source in timestamp order."""
    return sum(processing.process_source(channel_pk, source_id) for source_id in source_ids)


@shared_task
def sweep_webhook_events() -> int:
    """Beat (every 30 s): re-queue what a lost task or a killed worker left behind: webhook events, stalled
    content downloads, and outbound sends (pushes go again with their retry key; unconfirmed replies fail)."""
    by_channel: dict[int, list[str]] = {}
    for channel_pk, source_id in processing.sweep():
        by_channel.setdefault(channel_pk, []).append(source_id)
    for channel_pk, sources in by_channel.items():
        for i in range(0, len(sources), 50):
            process_webhook_sources.delay(channel_pk, sources[i : i + 50])
    for pk in content.stale_pending():
        archive_content.delay(pk)
    for message_pks in sending.sweep():
        deliver_messages.delay(message_pks, allow_push=True)
    return sum(len(s) for s in by_channel.values())


@shared_task(acks_late=True)
def archive_content(message_pk: int, attempt: int = 0) -> str:
    """Download content now; while LINE prepares it (202) or is unreachable, try again later."""
    try:
        return content.archive(message_pk, client_for=line_client)
    except content.NotReady:
        delay = content.retry_delay(attempt)
    except LineAPIError as exc:
        delay = int(exc.retry_after or content.retry_delay(attempt))
    archive_content.apply_async((message_pk, attempt + 1), countdown=delay)
    return "later"


@shared_task(acks_late=True)
def fetch_profile(friend_pk: int) -> None:
    friend = Friend.objects.select_related("channel").filter(pk=friend_pk).first()
    if friend is None:
        return
    from .services import friend_update_profile

    try:
        profile = line_client(friend.channel).get_profile(friend.user_id)
    except LineAPIError as exc:
        if exc.kind == "not_found":  # blocked or gone: remember we tried, keep what we had
            Friend.objects.filter(pk=friend.pk).update(profile_fetched_at=timezone.now())
            return
        if exc.retryable:
            raise
        log.warning("profile of friend %s not fetched: %s", friend.pk, exc)
        return
    friend_update_profile(friend=friend, profile=profile)


@shared_task
def refresh_profiles(max_age_days: int = 7, limit: int = 500) -> int:
    """Beat: refresh the oldest profiles of friends who still follow, a few hundred at a time."""
    cutoff = timezone.now() - timedelta(days=max_age_days)
    pks = list(
        Friend.objects.filter(is_following=True, profile_fetched_at__lt=cutoff)
        .order_by("profile_fetched_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in pks:
        fetch_profile.delay(pk)
    return len(pks)


@shared_task(acks_late=True)
def fetch_group_summary(group_pk: int) -> None:
    group = Group.objects.select_related("channel").filter(pk=group_pk).first()
    if group is None:
        return
    client = line_client(group.channel)
    try:
        if group.kind == Group.Kind.GROUP:
            summary = client.get_group_summary(group.group_id)
            group.name = str(summary.get("groupName") or "")[:200]
            group.picture_url = str(summary.get("pictureUrl") or "")[:1000]
            group.member_count = client.get_group_member_count(group.group_id)
        else:
            group.member_count = client.get_room_member_count(group.group_id)
    except LineAPIError as exc:
        if exc.retryable:
            raise
        log.info("group %s summary not fetched: %s", group.pk, exc)
    group.summary_fetched_at = timezone.now()
    group.save(update_fields=["name", "picture_url", "member_count", "summary_fetched_at"])


@shared_task(acks_late=True)
def deliver_messages(message_pks: list[int], reply_token: str = "", allow_push: bool = False) -> str:
    """Send logged rows. Safe to run twice: only pending rows are claimed, and pushes carry their retry key."""
    outcome = sending.deliver(message_pks, client_for=line_client, reply_token=reply_token, allow_push=allow_push)
    if outcome.ok:
        return outcome.via
    return f"retrying: {outcome.error}" if outcome.retrying else f"failed: {outcome.error}"
