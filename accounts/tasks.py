"""Periodic jobs for channels."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from lineapi import LineAPIError

from .models import Channel, TokenMode
from .services import channel_renew_token

log = logging.getLogger(__name__)

# Renew well before expiry: a stateless token lives 15 minutes, beat runs this every minute.
RENEW_MARGIN_SECONDS = 5 * 60


@shared_task
def renew_channel_tokens() -> int:
    """Renew every automatic token that expires within the margin; safe to run twice at once."""
    soon = timezone.now() + timedelta(seconds=RENEW_MARGIN_SECONDS)
    due = (
        Channel.objects.filter(is_active=True)
        .exclude(token_mode=TokenMode.LONG_LIVED)
        .filter(Q(issued_token_expires_at__isnull=True) | Q(issued_token_expires_at__lte=soon))
    )
    renewed = 0
    for pk in due.values_list("pk", flat=True):
        try:
            channel_renew_token(channel_pk=pk, margin_seconds=RENEW_MARGIN_SECONDS)
            renewed += 1
        except LineAPIError as exc:
            log.warning("could not renew the token of channel pk=%s: %s", pk, exc)
    return renewed
