"""What each role may do on a channel. One table, read by views, the API and templates alike."""

from __future__ import annotations

from enum import StrEnum

from .models import Role


class Perm(StrEnum):
    VIEW = "view"  # read the inbox, campaigns, results, rich menus
    REPLY = "reply"  # answer chats, notes, assign, tag, resolve
    MANAGE_AUTO_REPLIES = "manage_auto_replies"
    COMPOSE_CAMPAIGNS = "compose_campaigns"  # draft, schedule, cancel, pause
    APPROVE_CAMPAIGNS = "approve_campaigns"  # approve and override the quota guard
    MANAGE_RICH_MENUS = "manage_rich_menus"
    MANAGE_LINKING = "manage_linking"
    MANAGE_CHANNEL = "manage_channel"  # credentials, time zone, settings
    MANAGE_MEMBERS = "manage_members"  # invite, change roles, remove
    VIEW_AUDIT_LOG = "view_audit_log"


ROLE_PERMISSIONS: dict[str, frozenset[Perm]] = {
    Role.ADMIN: frozenset(Perm),
    Role.MARKETER: frozenset({Perm.VIEW, Perm.COMPOSE_CAMPAIGNS, Perm.MANAGE_AUTO_REPLIES, Perm.MANAGE_RICH_MENUS}),
    Role.SUPPORT: frozenset({Perm.VIEW, Perm.REPLY}),
    Role.VIEWER: frozenset({Perm.VIEW}),
}


def role_allows(role: str | None, perm: Perm | str) -> bool:
    return role is not None and Perm(perm) in ROLE_PERMISSIONS.get(role, frozenset())


def user_role(user, channel) -> str | None:
    """The user's role on the channel; superusers act as admins everywhere."""
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    cache = getattr(user, "_channel_roles", None)
    if cache is None:
        cache = dict(user.memberships.values_list("channel_id", "role"))
        user._channel_roles = cache
    return cache.get(channel.pk)


def can(user, channel, perm: Perm | str) -> bool:
    return role_allows(user_role(user, channel), perm)


def can_connect_channels(user) -> bool:
    """Connecting a new channel: superusers, and staff given the add_channel permission."""
    return user.is_authenticated and (user.is_superuser or user.has_perm("accounts.add_channel"))
