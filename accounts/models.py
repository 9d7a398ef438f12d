"""Staff users, LINE channels with their encrypted credentials, per-channel roles and the audit log."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .fields import EncryptedTextField, mask


class User(AbstractUser):
    """A staff member of the business."""

    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, blank=True)
    line_user_id = models.CharField(
        _("own LINE user ID"),
        max_length=33,
        blank=True,
        validators=[RegexValidator(r"^U[0-9a-f]{32}$", _("A LINE user ID is U followed by 32 hex digits."))],
        help_text=_("Used to send test messages to yourself."),
    )


TIME_ZONE_CHOICES = [(tz, tz) for tz in ("Asia/Taipei", "Asia/Tokyo", "Asia/Bangkok", "Asia/Jakarta", "UTC")]


class TokenMode(models.TextChoices):
    LONG_LIVED = "long_lived", _("Long-lived access token")
    STATELESS = "stateless", _("Automatic: stateless tokens (15 minutes)")
    SHORT_LIVED = "short_lived", _("Automatic: short-lived tokens (30 days)")


class Channel(models.Model):
    """One LINE Official Account's Messaging API channel."""

    name = models.CharField(_("name"), max_length=100)
    channel_id = models.CharField(
        _("channel ID"),
        max_length=20,
        unique=True,
        validators=[RegexValidator(r"^[0-9]{6,20}$", _("A channel ID is a number, as shown in the LINE console."))],
    )
    channel_secret = EncryptedTextField(_("channel secret"))
    token_mode = models.CharField(_("access token"), max_length=16, choices=TokenMode.choices)
    access_token = EncryptedTextField(_("long-lived access token"), blank=True)
    # Automatic modes: the token LINE issued us, shared by every process, renewed by beat before expiry.
    issued_token = EncryptedTextField(blank=True, editable=False)
    issued_token_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    api_base = models.URLField(_("API base URL"), default=settings.LINE_API_BASE)
    data_api_base = models.URLField(_("data API base URL"), default=settings.LINE_DATA_API_BASE)
    time_zone = models.CharField(_("time zone"), max_length=40, choices=TIME_ZONE_CHOICES, default="Asia/Taipei")
    # Filled from LINE's bot info when the channel is verified.
    bot_user_id = models.CharField(_("bot user ID"), max_length=33, blank=True, db_index=True)
    basic_id = models.CharField(_("basic ID"), max_length=40, blank=True)
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    picture_url = models.URLField(_("picture"), max_length=1000, blank=True)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("channel")
        verbose_name_plural = _("channels")

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def webhook_path(self) -> str:
        return reverse("line-webhook", kwargs={"channel_id": self.channel_id})

    @property
    def webhook_url(self) -> str:
        return settings.PUBLIC_BASE_URL + self.webhook_path

    @property
    def masked_secret(self) -> str:
        return mask(self.channel_secret)

    @property
    def masked_access_token(self) -> str:
        return mask(self.access_token)

    @property
    def uses_automatic_tokens(self) -> bool:
        return self.token_mode != TokenMode.LONG_LIVED

    def issued_token_is_fresh(self, margin_seconds: int = 300) -> bool:
        if not self.issued_token or not self.issued_token_expires_at:
            return False
        return self.issued_token_expires_at - timezone.now() > timezone.timedelta(seconds=margin_seconds)


class Role(models.TextChoices):
    ADMIN = "admin", _("Admin")
    MARKETER = "marketer", _("Marketer")
    SUPPORT = "support", _("Support agent")
    VIEWER = "viewer", _("Viewer")


class Membership(models.Model):
    """A staff member's role on one channel."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "channel"], name="one_role_per_channel")]
        ordering = ["channel", "user__username"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} @ {self.channel}: {self.get_role_display()}"


class AuditLog(models.Model):
    """Who changed what on channels, members and roles. Never holds a secret's value."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    channel = models.ForeignKey(Channel, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_logs")
    action = models.CharField(_("action"), max_length=64)
    target = models.CharField(_("target"), max_length=200, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.target}"
