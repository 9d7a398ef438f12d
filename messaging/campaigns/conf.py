"""Campaign tuning knobs, read from Django settings (which read the environment) with safe defaults."""

from __future__ import annotations

from django.conf import settings


def _get(name: str, default):
    return getattr(settings, name, default)


def lease_seconds() -> float:
    """How long a claimed batch stays a sender's without a heartbeat (renewed every third of it while the
    sender lives); after that any sender, or the sweeper, hands it on. Handing on is always safe (the same
    retry key is sent again), so short leases only cost a repeated request, never a duplicate message."""
    return float(_get("CAMPAIGN_LEASE_SECONDS", 15))


def senders_per_campaign() -> int:
    """Sender tasks started per campaign; they share one rate limit, so more only helps up to it."""
    return int(_get("CAMPAIGN_SENDERS", 6))


def send_threads() -> int:
    """HTTP threads per sender task (pushes, multicasts); they share one keep-alive session."""
    return int(_get("CAMPAIGN_PUSH_THREADS", 8))


def rate_safety() -> float:
    """Fraction of LINE's published rate we aim for, leaving room for clock and network jitter."""
    return float(_get("CAMPAIGN_RATE_SAFETY", 0.97))


def freeze_chunk() -> int:
    """Batches created per transaction while freezing an audience (senders start after the first chunk)."""
    return int(_get("CAMPAIGN_FREEZE_CHUNK_BATCHES", 40))


def retry_key_max_age_seconds() -> float:
    """LINE forgets a retry key after 24 h; past this age a retry could duplicate, so we stop retrying."""
    return float(_get("CAMPAIGN_RETRY_KEY_MAX_AGE", 23 * 3600))


def media_base_url() -> str:
    """Where LINE fetches uploaded media from: must be public HTTPS in production."""
    return str(_get("CAMPAIGN_MEDIA_BASE_URL", "") or settings.PUBLIC_BASE_URL).rstrip("/")
