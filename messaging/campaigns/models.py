"""Campaigns: what to send (1..5 LINE messages), to whom (an audience spec), when, and the delivery rows.

Every send is a row before it is a request: a started campaign's audience is frozen into DeliveryBatch
rows (<= 500 user IDs and one retry key each, stored before the first request). Sender tasks lease batches,
so a killed worker loses nothing (the sweeper re-queues expired leases) and sends nothing twice (the same
retry key is reused on every attempt, and LINE answers 409 to a key it already accepted).
"""

from __future__ import annotations

import re
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Channel

MAX_MESSAGES = 5
BATCH_SIZE = 500


class CampaignState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING_APPROVAL = "pending_approval", _("Waiting for approval")
    SCHEDULED = "scheduled", _("Scheduled")
    SENDING = "sending", _("Sending")
    PAUSED = "paused", _("Paused")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")
    FAILED = "failed", _("Failed")


EDITABLE_STATES = (CampaignState.DRAFT, CampaignState.PENDING_APPROVAL, CampaignState.SCHEDULED)
CANCELLABLE_STATES = (CampaignState.DRAFT, CampaignState.PENDING_APPROVAL, CampaignState.SCHEDULED,
                      CampaignState.PAUSED)
FINAL_STATES = (CampaignState.DONE, CampaignState.CANCELLED, CampaignState.FAILED)


class AudienceKind(models.TextChoices):
    ALL = "all", _("All friends (broadcast)")
    SEGMENT = "segment", _("Tags and segments")
    LIST = "list", _("A list of user IDs (pasted or CSV)")
    DEMOGRAPHIC = "demographic", _("Demographics (narrowcast)")


class Delivery(models.TextChoices):
    BROADCAST = "broadcast", _("Broadcast")
    MULTICAST = "multicast", _("Multicast")
    NARROWCAST = "narrowcast", _("Narrowcast")
    PUSH = "push", _("Personalised push")


class PauseReason(models.TextChoices):
    MANUAL = "manual", _("Paused by staff")
    QUOTA = "quota", _("LINE's monthly message limit was reached")
    AUTH = "auth", _("LINE refused the channel's access token")


class Campaign(models.Model):
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(_("name"), max_length=100)
    state = models.CharField(_("state"), max_length=20, choices=CampaignState.choices, default=CampaignState.DRAFT)
    messages = models.JSONField(_("messages"), default=list, blank=True)
    audience_kind = models.CharField(_("audience"), max_length=12, choices=AudienceKind.choices,
                                     default=AudienceKind.SEGMENT)
    audience = models.JSONField(_("audience details"), default=dict, blank=True)
    personalize = models.BooleanField(
        _("personalise with each friend's name"), default=False,
        help_text=_("{name} in a text message becomes the friend's display name; sends one push per friend."),
    )
    notification_disabled = models.BooleanField(_("send silently (no notification)"), default=False)
    scheduled_at = models.DateTimeField(_("send at"), null=True, blank=True, db_index=True)
    estimated_reach = models.PositiveIntegerField(_("estimated reach"), null=True, blank=True)
    quota_override = models.BooleanField(_("quota guard overridden"), default=False)
    quota_override_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                          on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="campaigns_created")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    # Delivery, filled when sending starts.
    delivery = models.CharField(_("delivery"), max_length=12, choices=Delivery.choices, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    frozen = models.BooleanField(default=False, help_text="every batch of the audience exists")
    freeze_cursor = models.BigIntegerField(default=0)  # last Friend pk / list index frozen
    freeze_max_pk = models.BigIntegerField(null=True, blank=True)  # friends who came later are not included
    recipients_count = models.PositiveIntegerField(_("recipients"), default=0)
    accepted_count = models.PositiveIntegerField(_("accepted"), default=0)
    failed_count = models.PositiveIntegerField(_("failed"), default=0)
    line_request_id = models.CharField(_("LINE request ID"), max_length=64, blank=True)
    narrowcast_phase = models.CharField(_("narrowcast phase"), max_length=16, blank=True)
    # Liveness, for the sweeper: tasks that work on the campaign stamp these; a stale stamp means the task
    # died (killed worker, lost message) and the sweeper queues it again, at most once per lease.
    freezer_seen_at = models.DateTimeField(null=True, blank=True)
    senders_seen_at = models.DateTimeField(null=True, blank=True)
    kicked_at = models.DateTimeField(null=True, blank=True)  # when freezer/senders/thread log were last queued
    # When every recipient's thread got the campaign's lines (multicast and push); until then the sweeper
    # queues the thread log again whenever nothing has worked on it for a lease.
    threads_logged_at = models.DateTimeField(null=True, blank=True)
    pause_reason = models.CharField(_("paused because"), max_length=10, choices=PauseReason.choices, blank=True)
    status_note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["state", "scheduled_at"], name="campaign_due_idx")]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")

    def __str__(self) -> str:
        return self.name

    @property
    def unit_name(self) -> str:
        """The campaign's name as a LINE custom aggregation unit (``^[a-zA-Z0-9_]{1,30}$``)."""
        ascii_name = re.sub(r"[^A-Za-z0-9_]+", "_", self.name).strip("_")
        suffix = f"_{self.pk}"
        return ((ascii_name[: 30 - len(suffix)] + suffix) if ascii_name else f"campaign{suffix}")[:30]

    @property
    def is_editable(self) -> bool:
        return self.state in EDITABLE_STATES

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES


class BatchState(models.TextChoices):
    PENDING = "pending", _("Pending")
    CLAIMED = "claimed", _("Sending")
    ACCEPTED = "accepted", _("Accepted")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class DeliveryBatch(models.Model):
    """Up to 500 recipients sent in one request (multicast) or one push each (personalised)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="batches")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=12, choices=Delivery.choices)
    user_ids = models.JSONField(default=list, blank=True)
    size = models.PositiveIntegerField(default=0)
    # Stored with the row, before any request: every attempt of this batch sends the same key.
    retry_key = models.UUIDField(default=uuid.uuid4, editable=False)
    state = models.CharField(max_length=10, choices=BatchState.choices, default=BatchState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)  # the lease; expired leases are swept
    claim_token = models.UUIDField(null=True, blank=True)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_request_id = models.CharField(max_length=64, blank=True)
    accepted_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    error = models.JSONField(null=True, blank=True)  # LINE's reason for the last failure

    class Meta:
        ordering = ["campaign", "seq"]
        constraints = [models.UniqueConstraint(fields=["campaign", "seq"], name="batch_seq_unique")]
        indexes = [
            models.Index(fields=["campaign", "state", "next_attempt_at"], name="batch_due_idx"),
            models.Index(fields=["state", "claimed_until"], name="batch_lease_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}#{self.seq} ({self.state}, {self.size})"


class CampaignEvent(models.Model):
    """The campaign's timeline, shown on its page: scheduled, approved, started, paused (and why), done."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32)
    message = models.TextField(blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    is_alert = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.kind}"


class CampaignSettings(models.Model):
    """Per-channel campaign settings (kept here so the accounts app stays ignorant of campaigns)."""

    channel = models.OneToOneField(Channel, on_delete=models.CASCADE, related_name="campaign_settings")
    require_approval = models.BooleanField(
        _("marketers need an admin's approval"), default=False,
        help_text=_("Campaigns scheduled by marketers wait for an admin to approve them."),
    )

    class Meta:
        verbose_name = _("campaign settings")
        verbose_name_plural = _("campaign settings")

    def __str__(self) -> str:
        return f"campaign settings of {self.channel_id}"


class MessageTemplate(models.Model):
    """A reusable set of messages."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="message_templates")
    name = models.CharField(_("name"), max_length=100)
    messages = models.JSONField(_("messages"), default=list)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [models.UniqueConstraint(fields=["channel", "name"], name="template_name_unique")]
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")

    def __str__(self) -> str:
        return self.name


class Segment(models.Model):
    """A saved filter over friends (tags, follow date, last contact, language)."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="segments")
    name = models.CharField(_("name"), max_length=100)
    filters = models.JSONField(_("filters"), default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [models.UniqueConstraint(fields=["channel", "name"], name="segment_name_unique")]
        verbose_name = _("segment")
        verbose_name_plural = _("segments")

    def __str__(self) -> str:
        return self.name


class MediaKind(models.TextChoices):
    IMAGE = "image", _("Image")
    VIDEO = "video", _("Video")
    AUDIO = "audio", _("Audio")


def _media_path(instance, filename: str) -> str:
    return f"campaigns/{instance.channel_id}/{uuid.uuid4().hex}/{filename}"


class MediaAsset(models.Model):
    """An uploaded image, video or audio file served to LINE from our storage, with a preview image."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="media_assets")
    kind = models.CharField(max_length=8, choices=MediaKind.choices)
    file = models.FileField(upload_to=_media_path, max_length=300)
    preview = models.FileField(upload_to=_media_path, max_length=300, blank=True)
    original_name = models.CharField(max_length=200, blank=True)
    content_type = models.CharField(max_length=60, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.original_name or self.file.name


class RateBucket(models.Model):
    """A token bucket in the database: the shared rate limiter when there is no Redis."""

    key = models.CharField(max_length=100, unique=True)
    tokens = models.FloatField(default=0)
    updated = models.FloatField(default=0)  # unix time of the last refill
    stamps = models.JSONField(default=list, blank=True)  # sliding windows (per-hour limits): accept times

    def __str__(self) -> str:
        return self.key


class CampaignStatistics(models.Model):
    """LINE's statistics for one campaign, pulled by beat once LINE has them."""

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="statistics")
    delivered = models.PositiveIntegerField(null=True, blank=True)
    unique_impression = models.PositiveIntegerField(null=True, blank=True)
    unique_click = models.PositiveIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)
    next_fetch_at = models.DateTimeField(default=timezone.now)
    fetch_count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"statistics of {self.campaign_id}"


class ChannelDailyStats(models.Model):
    """One day (UTC+9, LINE's statistics day) of a channel's friends, sends by type and quota."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="daily_stats")
    date = models.DateField()
    followers = models.PositiveIntegerField(null=True, blank=True)
    targeted_reaches = models.PositiveIntegerField(null=True, blank=True)
    blocks = models.PositiveIntegerField(null=True, blank=True)
    sent_by_type = models.JSONField(default=dict, blank=True)  # {"apiMulticast": 1200, ...}
    quota_used = models.PositiveIntegerField(null=True, blank=True)
    fetched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["channel", "date"]
        constraints = [models.UniqueConstraint(fields=["channel", "date"], name="daily_stats_unique")]

    def __str__(self) -> str:
        return f"{self.channel_id} {self.date}"
