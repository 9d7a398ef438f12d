"""Writes for channels, memberships and tokens. Views, the API, admin actions and tasks all call these."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lineapi import LineAPIError, LineClient
from lineapi import tokens as line_tokens

from .models import AuditLog, Channel, Membership, Role, TokenMode

log = logging.getLogger(__name__)

# Fields whose values must never be copied into the audit log.
SECRET_FIELDS = {"channel_secret", "access_token", "issued_token"}


class ChannelVerificationError(Exception):
    """LINE refused the credentials; `errors` maps form field names to messages a person can act on."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass
class Verified:
    bot_user_id: str
    basic_id: str
    display_name: str
    picture_url: str
    issued_token: str = ""
    issued_token_expires_at: object = None
    notes: list[str] = field(default_factory=list)


def audit(*, actor, action: str, channel: Channel | None = None, target: str = "", changes: dict | None = None):
    clean = {k: ("(changed)" if k in SECRET_FIELDS else v) for k, v in (changes or {}).items()}
    return AuditLog.objects.create(actor=actor, channel=channel, action=action, target=target[:200], changes=clean)


def _issue_token(*, mode: str, api_base: str, channel_id: str, channel_secret: str):
    issue = line_tokens.issue_stateless_token if mode == TokenMode.STATELESS else line_tokens.issue_short_lived_token
    return issue(api_base=api_base, channel_id=channel_id, channel_secret=channel_secret)


def _verification_message(exc: LineAPIError) -> str:
    if exc.kind in ("timeout", "connection"):
        return _("LINE could not be reached (%(reason)s). Check the API base URL and try again.") % {"reason": exc.kind}
    return _("LINE refused it: %(message)s") % {"message": exc.message or exc.status}


def verify_credentials(
    *, channel_id: str, channel_secret: str, token_mode: str, access_token: str, api_base: str
) -> Verified:
    """Check the secret, the token and that both belong to `channel_id`; return LINE's bot info.

    The secret is proven by issuing a stateless token with it (they cannot be revoked and cost nothing);
    a long-lived token is proven with token verify, whose client_id must be this channel.
    """
    try:
        issued = _issue_token(
            mode=token_mode if token_mode != TokenMode.LONG_LIVED else TokenMode.STATELESS,
            api_base=api_base,
            channel_id=channel_id,
            channel_secret=channel_secret,
        )
    except LineAPIError as exc:
        if exc.kind in ("timeout", "connection", "server"):
            raise ChannelVerificationError({"api_base": _verification_message(exc)}) from exc
        raise ChannelVerificationError(
            {"channel_secret": _("LINE did not accept this channel ID and secret together.")}
        ) from exc
    token = issued.access_token
    if token_mode == TokenMode.LONG_LIVED:
        try:
            info = line_tokens.verify_token(api_base=api_base, access_token=access_token)
        except LineAPIError as exc:
            raise ChannelVerificationError(
                {
                    "access_token": _("LINE says this access token is not valid (%(message)s).")
                    % {"message": exc.message}
                }
            ) from exc
        if str(info.client_id) != str(channel_id):
            raise ChannelVerificationError({"access_token": _("This access token belongs to another channel.")})
        token = access_token
    try:
        bot = LineClient(access_token=token, api_base=api_base).get_bot_info()
    except LineAPIError as exc:
        raise ChannelVerificationError({"access_token": _verification_message(exc)}) from exc
    verified = Verified(
        bot_user_id=bot.user_id,
        basic_id=bot.basic_id,
        display_name=bot.display_name,
        picture_url=bot.picture_url or "",
    )
    if token_mode != TokenMode.LONG_LIVED:
        verified.issued_token = issued.access_token
        verified.issued_token_expires_at = timezone.now() + timedelta(seconds=int(issued.expires_in))
    return verified


def _apply_verified(channel: Channel, verified: Verified) -> None:
    channel.bot_user_id = verified.bot_user_id
    channel.basic_id = verified.basic_id
    channel.display_name = verified.display_name
    channel.picture_url = verified.picture_url
    channel.verified_at = timezone.now()
    if channel.uses_automatic_tokens:
        channel.issued_token = verified.issued_token
        channel.issued_token_expires_at = verified.issued_token_expires_at
        channel.access_token = ""
    else:
        channel.issued_token = ""
        channel.issued_token_expires_at = None


@transaction.atomic
def channel_create(*, actor, verify: bool = True, **fields) -> Channel:
    """Connect a channel: verify with LINE first (nothing is saved if LINE says no), make the actor its admin."""
    channel = Channel(**fields)
    if verify:
        verified = verify_credentials(
            channel_id=channel.channel_id,
            channel_secret=channel.channel_secret,
            token_mode=channel.token_mode,
            access_token=channel.access_token,
            api_base=channel.api_base,
        )
        _apply_verified(channel, verified)
    channel.full_clean()
    channel.save()
    if actor is not None:
        Membership.objects.get_or_create(user=actor, channel=channel, defaults={"role": Role.ADMIN})
    audit(actor=actor, action="channel.create", channel=channel, target=channel.name, changes=_public_fields(channel))
    return channel


CREDENTIAL_FIELDS = ("channel_id", "channel_secret", "token_mode", "access_token", "api_base")


@transaction.atomic
def channel_update(*, actor, channel: Channel, verify: bool = True, **changes) -> Channel:
    """Change a channel's settings; new credentials are verified with LINE before anything is saved."""
    before = {name: getattr(channel, name) for name in changes}
    for name, value in changes.items():
        setattr(channel, name, value)
    changed = {k: v for k, v in changes.items() if before[k] != v}
    if verify and any(name in changed for name in CREDENTIAL_FIELDS):
        _apply_verified(
            channel,
            verify_credentials(
                channel_id=channel.channel_id,
                channel_secret=channel.channel_secret,
                token_mode=channel.token_mode,
                access_token=channel.access_token,
                api_base=channel.api_base,
            ),
        )
    channel.full_clean()
    channel.save()
    if changed:
        audit(actor=actor, action="channel.update", channel=channel, target=channel.name, changes=changed)
    return channel


def _public_fields(channel: Channel) -> dict:
    return {
        "name": channel.name,
        "channel_id": channel.channel_id,
        "token_mode": channel.token_mode,
        "api_base": channel.api_base,
        "time_zone": channel.time_zone,
    }


@transaction.atomic
def membership_set(*, actor, channel: Channel, user, role: str) -> Membership:
    membership, created = Membership.objects.get_or_create(user=user, channel=channel, defaults={"role": role})
    previous = None if created else membership.role
    if not created and membership.role != role:
        _ensure_an_admin_remains(channel, leaving=membership)
        membership.role = role
        membership.save(update_fields=["role"])
    if previous != role:
        audit(
            actor=actor,
            action="member.add" if created else "member.role",
            channel=channel,
            target=user.get_username(),
            changes={"role": [previous, role]},
        )
    return membership


class LastAdminError(Exception):
    pass


def _ensure_an_admin_remains(channel: Channel, *, leaving: Membership) -> None:
    if leaving.role != Role.ADMIN:
        return
    others = channel.memberships.filter(role=Role.ADMIN).exclude(pk=leaving.pk).select_for_update()
    if not others.exists():
        raise LastAdminError(_("A channel must keep at least one admin."))


@transaction.atomic
def membership_remove(*, actor, membership: Membership) -> None:
    _ensure_an_admin_remains(membership.channel, leaving=membership)
    audit(
        actor=actor,
        action="member.remove",
        channel=membership.channel,
        target=membership.user.get_username(),
        changes={"role": [membership.role, None]},
    )
    membership.delete()


def channel_access_token(channel: Channel) -> str:
    """The token to call LINE with. Automatic modes reuse the shared token until it nears expiry."""
    if not channel.uses_automatic_tokens:
        return channel.access_token
    if channel.issued_token_is_fresh():
        return channel.issued_token
    return channel_renew_token(channel_pk=channel.pk).issued_token


@transaction.atomic
def channel_renew_token(*, channel_pk: int, margin_seconds: int = 300) -> Channel:
    """Issue a new token if the shared one is missing or expires within the margin.

    The row lock makes concurrent workers wait for one issue instead of each asking LINE for a token.
    """
    channel = Channel.objects.select_for_update().get(pk=channel_pk)
    if not channel.uses_automatic_tokens or channel.issued_token_is_fresh(margin_seconds):
        return channel
    issued = _issue_token(
        mode=channel.token_mode,
        api_base=channel.api_base,
        channel_id=channel.channel_id,
        channel_secret=channel.channel_secret,
    )
    channel.issued_token = issued.access_token
    channel.issued_token_expires_at = timezone.now() + timedelta(seconds=int(issued.expires_in))
    channel.save(update_fields=["issued_token", "issued_token_expires_at", "updated_at"])
    log.info("issued a new %s token for channel %s", channel.token_mode, channel.channel_id)
    return channel


def line_client(channel: Channel) -> LineClient:
    """The LINE client for a channel (one keep-alive session per channel and process)."""
    from django.conf import settings

    token = channel_access_token(channel)
    key = (channel.pk, token, channel.api_base, channel.data_api_base)
    client = _clients.get(key)
    if client is None:
        client = LineClient(
            access_token=token,
            api_base=channel.api_base,
            data_api_base=channel.data_api_base,
            timeout=settings.LINE_HTTP_TIMEOUT,
        )
        # Drop a stale client of the same channel (its token was renewed).
        for old in [k for k in _clients if k[0] == channel.pk]:
            _clients.pop(old, None)
        _clients[key] = client
    return client


_clients: dict[tuple, LineClient] = {}
