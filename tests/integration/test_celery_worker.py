"""A real Celery worker process picks up work enqueued when a transaction commits."""

import secrets

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.models import Channel, TokenMode
from accounts.services import channel_create
from accounts.tasks import renew_channel_tokens
from tests.support import wait_until

pytestmark = pytest.mark.worker


def test_a_worker_runs_a_task_enqueued_on_commit(celery_worker_process, linesim):
    channel_id, secret = "2000888001", secrets.token_hex(16)
    linesim.register_channel(channel_id, secret, secrets.token_urlsafe(40), "http://127.0.0.1:9/")
    channel = channel_create(
        actor=None,
        name="Worker Shop",
        channel_id=channel_id,
        channel_secret=secret,
        token_mode=TokenMode.STATELESS,
        api_base=linesim.base_url,
        data_api_base=linesim.base_url,
    )
    old_token = channel.issued_token

    with transaction.atomic():
        Channel.objects.filter(pk=channel.pk).update(issued_token_expires_at=timezone.now())
        renew_channel_tokens.delay_on_commit()

    def renewed():
        channel.refresh_from_db()
        return channel.issued_token != old_token

    wait_until(renewed, timeout=60, message=lambda: "the worker to renew the token\n" + celery_worker_process.output())
    assert channel.issued_token_is_fresh()
    assert "renew_channel_tokens" in celery_worker_process.output()
