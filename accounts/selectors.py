"""Reads for staff and channels."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import AuditLog, Channel


def channels_for(user) -> QuerySet[Channel]:
    """The channels a staff member may open: all of them for superusers, else their memberships."""
    qs = Channel.objects.filter(is_active=True)
    if not user.is_superuser:
        qs = qs.filter(memberships__user=user)
    return qs.order_by("name", "pk")


def audit_log_for(channel: Channel, limit: int = 100) -> QuerySet[AuditLog]:
    return AuditLog.objects.filter(channel=channel).select_related("actor")[:limit]
