"""Writes for campaigns: compose, schedule, approve, cancel, pause, resume, test sends, templates, segments.

The delivery engine (start, freeze, send, sweep) lives in ``delivery.py``; statistics in ``stats.py``.
Every function validates everything first, so nothing is saved or scheduled half-way.
"""

from __future__ import annotations

import logging
import uuid

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import Perm, can
from accounts.services import audit, line_client
from lineapi import LineAPIError

from .audiences import estimate_reach
from .models import (
    CANCELLABLE_STATES,
    EDITABLE_STATES,
    AudienceKind,
    BatchState,
    Campaign,
    CampaignEvent,
    CampaignSettings,
    CampaignState,
    MessageTemplate,
    PauseReason,
    Segment,
)
from .quota import QuotaCheck, quota_check
from .validation import (
    CampaignInvalid,
    add_error,
    delivery_for,
    line_validation_errors,
    message_errors,
    schedule_errors,
)

log = logging.getLogger(__name__)

COMPOSE_FIELDS = ("name", "messages", "audience_kind", "audience", "personalize", "notification_disabled",
                  "scheduled_at")


def event(campaign: Campaign, kind: str, message: str = "", *, actor=None, alert: bool = False) -> CampaignEvent:
    return CampaignEvent.objects.create(campaign=campaign, kind=kind, message=message, actor=actor, is_alert=alert)


def settings_for(channel) -> CampaignSettings:
    return CampaignSettings.objects.get_or_create(channel=channel)[0]


# -- composing -------------------------------------------------------------------------------


def _check_content(*, channel, fields: dict, errors: dict) -> None:
    for path, msgs in message_errors(fields.get("messages")).items():
        for m in msgs:
            add_error(errors, path, m)
    if fields.get("audience_kind") == AudienceKind.LIST and fields.get("audience", {}).get("bad_rows"):
        pass  # reported next to the field by the form; the good rows are kept
    if not (fields.get("name") or "").strip():
        add_error(errors, "name", _("Give the campaign a name."))


@transaction.atomic
def campaign_create(*, channel, actor, **fields) -> Campaign:
    """A draft. Messages must pass LINE's limits; the audience may still be empty until scheduling."""
    errors: dict[str, list[str]] = {}
    _check_content(channel=channel, fields=fields, errors=errors)
    if errors:
        raise CampaignInvalid(errors)
    campaign = Campaign(channel=channel, created_by=actor, **{k: v for k, v in fields.items() if k in COMPOSE_FIELDS})
    campaign.estimated_reach = estimate_reach(channel, campaign.audience_kind, campaign.audience).count
    campaign.save()
    event(campaign, "created", actor=actor)
    audit(actor=actor, action="campaign.create", channel=channel, target=campaign.name)
    return campaign


@transaction.atomic
def campaign_update(*, campaign: Campaign, actor, **fields) -> Campaign:
    """Change a campaign that has not started; a scheduled one goes back to draft (schedule it again)."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.state not in EDITABLE_STATES:
        raise CampaignInvalid({"__all__": [_("A campaign that has started can no longer be changed.")]})
    merged = {k: fields.get(k, getattr(campaign, k)) for k in COMPOSE_FIELDS}
    errors: dict[str, list[str]] = {}
    _check_content(channel=campaign.channel, fields=merged, errors=errors)
    if errors:
        raise CampaignInvalid(errors)
    for k, v in merged.items():
        setattr(campaign, k, v)
    if campaign.state != CampaignState.DRAFT:
        campaign.state = CampaignState.DRAFT
        campaign.approved_by, campaign.approved_at = None, None
        event(campaign, "unscheduled", _("Edited: schedule it again."), actor=actor)
    campaign.estimated_reach = estimate_reach(campaign.channel, campaign.audience_kind, campaign.audience).count
    campaign.save()
    return campaign


# -- scheduling ----------------------------------------------------------------------------


def campaign_preflight(*, campaign: Campaign, when, ask_line: bool = True) -> tuple[dict, list[str], QuotaCheck]:
    """Everything scheduling checks, without writing: (errors, warnings, quota)."""
    errors: dict[str, list[str]] = {}
    warnings: list[str] = []
    _check_content(channel=campaign.channel, fields={k: getattr(campaign, k) for k in COMPOSE_FIELDS}, errors=errors)
    for k, v in schedule_errors(when).items():
        errors.setdefault(k, []).extend(v)
    reach = estimate_reach(campaign.channel, campaign.audience_kind, campaign.audience)
    if reach.count == 0:
        add_error(errors, "audience", _("Nobody is in this audience. Pick other tags, segments or user IDs."))
    client = line_client(campaign.channel)
    kind = delivery_for(campaign.audience_kind, campaign.personalize)
    if ask_line and not errors:
        line_errors, warning = line_validation_errors(client, kind, campaign.messages)
        for k, v in line_errors.items():
            errors.setdefault(k, []).extend(v)
        if warning:
            warnings.append(warning)
    quota = quota_check(channel=campaign.channel, client=client, reach=reach.count or 0, exclude_pk=campaign.pk)
    if quota.message:
        warnings.append(quota.message)
    return errors, warnings, quota


@transaction.atomic
def campaign_schedule(*, campaign: Campaign, actor, when=None, override_quota: bool = False,
                      ask_line: bool = True) -> Campaign:
    """Send now (``when`` None) or at ``when``. Marketers may need an admin's approval first.

    The quota guard blocks when reach + planned + used exceeds LINE's quota, unless someone allowed to
    approve campaigns overrides it.
    """
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.state not in (CampaignState.DRAFT,):
        raise CampaignInvalid({"__all__": [_("Only a draft can be scheduled.")]})
    errors, _warnings, quota = campaign_preflight(campaign=campaign, when=when, ask_line=ask_line)
    may_approve = actor is None or can(actor, campaign.channel, Perm.APPROVE_CAMPAIGNS)
    if not quota.ok and not (override_quota and may_approve):
        add_error(errors, "quota", quota.message + " " + (
            _("Tick “override the quota guard” to send anyway.") if may_approve
            else _("An admin can override the quota guard.")))
    if errors:
        raise CampaignInvalid(errors)
    now = timezone.now()
    campaign.scheduled_at = when if when is not None and when > now else now
    campaign.estimated_reach = quota.reach
    campaign.quota_override = bool(override_quota and not quota.ok)
    campaign.quota_override_by = actor if campaign.quota_override else None
    needs_approval = settings_for(campaign.channel).require_approval and not may_approve
    campaign.state = CampaignState.PENDING_APPROVAL if needs_approval else CampaignState.SCHEDULED
    if not needs_approval:
        campaign.approved_by, campaign.approved_at = actor, now
    campaign.save()
    event(campaign, "submitted" if needs_approval else "scheduled",
          _("Waiting for an admin's approval.") if needs_approval else "", actor=actor)
    audit(actor=actor, action="campaign.schedule", channel=campaign.channel, target=campaign.name,
          changes={"scheduled_at": campaign.scheduled_at.isoformat(), "state": campaign.state,
                   "quota_override": campaign.quota_override})
    _start_if_due(campaign)
    return campaign


def _start_if_due(campaign: Campaign) -> None:
    if campaign.state == CampaignState.SCHEDULED and campaign.scheduled_at <= timezone.now():
        from .tasks import start_campaign

        start_campaign.delay_on_commit(campaign.pk)


@transaction.atomic
def campaign_approve(*, campaign: Campaign, actor) -> Campaign:
    updated = Campaign.objects.filter(pk=campaign.pk, state=CampaignState.PENDING_APPROVAL).update(
        state=CampaignState.SCHEDULED, approved_by=actor, approved_at=timezone.now(), updated_at=timezone.now()
    )
    campaign.refresh_from_db()
    if not updated:
        raise CampaignInvalid({"__all__": [_("This campaign is not waiting for approval.")]})
    if campaign.scheduled_at < timezone.now() - timezone.timedelta(hours=1):
        # Approved long after its time: send now rather than pretend it went out on time.
        campaign.scheduled_at = timezone.now()
        campaign.save(update_fields=["scheduled_at"])
    event(campaign, "approved", actor=actor)
    audit(actor=actor, action="campaign.approve", channel=campaign.channel, target=campaign.name)
    _start_if_due(campaign)
    return campaign


@transaction.atomic
def campaign_reject(*, campaign: Campaign, actor, reason: str = "") -> Campaign:
    updated = Campaign.objects.filter(pk=campaign.pk, state=CampaignState.PENDING_APPROVAL).update(
        state=CampaignState.DRAFT, updated_at=timezone.now()
    )
    campaign.refresh_from_db()
    if not updated:
        raise CampaignInvalid({"__all__": [_("This campaign is not waiting for approval.")]})
    event(campaign, "rejected", reason, actor=actor, alert=True)
    return campaign


# -- control ---------------------------------------------------------------------------------


@transaction.atomic
def campaign_cancel(*, campaign: Campaign, actor) -> Campaign:
    """Cancel before it starts (or while paused: batches not yet sent are dropped)."""
    updated = Campaign.objects.filter(pk=campaign.pk, state__in=CANCELLABLE_STATES).update(
        state=CampaignState.CANCELLED, finished_at=timezone.now(), updated_at=timezone.now()
    )
    campaign.refresh_from_db()
    if not updated:
        raise CampaignInvalid({"__all__": [_("This campaign can no longer be cancelled.")]})
    campaign.batches.filter(state=BatchState.PENDING).update(state=BatchState.CANCELLED)
    event(campaign, "cancelled", actor=actor)
    audit(actor=actor, action="campaign.cancel", channel=campaign.channel, target=campaign.name)
    return campaign


@transaction.atomic
def campaign_pause(*, campaign: Campaign, actor, reason: str = PauseReason.MANUAL, note: str = "") -> bool:
    """Stop claiming batches; requests already in flight finish. True if this call paused it."""
    updated = Campaign.objects.filter(pk=campaign.pk, state=CampaignState.SENDING).update(
        state=CampaignState.PAUSED, pause_reason=reason, status_note=note, updated_at=timezone.now()
    )
    campaign.refresh_from_db()
    if updated:
        event(campaign, "paused", note or PauseReason(reason).label, actor=actor, alert=reason != PauseReason.MANUAL)
    return bool(updated)


@transaction.atomic
def campaign_resume(*, campaign: Campaign, actor, override_quota: bool = False) -> Campaign:
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.state != CampaignState.PAUSED:
        raise CampaignInvalid({"__all__": [_("Only a paused campaign can be resumed.")]})
    if campaign.pause_reason == PauseReason.QUOTA and not campaign.quota_override:
        may_approve = actor is None or can(actor, campaign.channel, Perm.APPROVE_CAMPAIGNS)
        if not (override_quota and may_approve):
            raise CampaignInvalid({"quota": [_("LINE's monthly limit stopped this campaign. An admin must "
                                               "override the quota guard (or raise the plan) to resume.")]})
        campaign.quota_override, campaign.quota_override_by = True, actor
    campaign.state, campaign.pause_reason, campaign.kicked_at = CampaignState.SENDING, "", timezone.now()
    campaign.save(update_fields=["state", "pause_reason", "quota_override", "quota_override_by", "kicked_at",
                                 "updated_at"])
    event(campaign, "resumed", actor=actor)
    from .tasks import freeze_campaign, send_campaign

    if not campaign.frozen:
        freeze_campaign.delay_on_commit(campaign.pk)
    else:
        from . import conf

        for _i in range(conf.senders_per_campaign()):
            send_campaign.delay_on_commit(campaign.pk)
    return campaign


# -- test sends, templates, segments -----------------------------------------------------------


def campaign_send_test(*, channel, actor, messages: list, personalize: bool = False) -> str:
    """Push the messages to the staff member's own LINE account; returns LINE's request ID."""
    if not getattr(actor, "line_user_id", ""):
        raise CampaignInvalid({"__all__": [_("Add your own LINE user ID to your profile to receive tests.")]})
    errors = message_errors(messages)
    if errors:
        raise CampaignInvalid(errors)
    from .delivery import personalised

    body = personalised(messages, actor.get_full_name() or actor.get_username()) if personalize else messages
    try:
        result = line_client(channel).push(actor.line_user_id, body, retry_key=uuid.uuid4())
    except LineAPIError as exc:
        raise CampaignInvalid({"__all__": [_("LINE did not accept the test: %(message)s") % {
            "message": exc.message or exc.kind}]})
    return result.accepted_request_id or ""


@transaction.atomic
def template_save(*, channel, actor, name: str, messages: list, template: MessageTemplate | None = None):
    errors = message_errors(messages)
    if not name.strip():
        add_error(errors, "name", _("Give the template a name."))
    if errors:
        raise CampaignInvalid(errors)
    template = template or MessageTemplate(channel=channel, created_by=actor)
    template.name, template.messages = name.strip(), messages
    template.save()
    return template


@transaction.atomic
def segment_save(*, channel, actor, name: str, filters: dict, segment: Segment | None = None) -> Segment:
    if not name.strip():
        raise CampaignInvalid({"name": [_("Give the segment a name.")]})
    segment = segment or Segment(channel=channel, created_by=actor)
    segment.name, segment.filters = name.strip(), filters
    segment.save()
    return segment


@transaction.atomic
def campaign_settings_update(*, channel, actor, require_approval: bool) -> CampaignSettings:
    obj = settings_for(channel)
    if obj.require_approval != require_approval:
        obj.require_approval = require_approval
        obj.save()
        audit(actor=actor, action="campaign.settings", channel=channel, target=channel.name,
              changes={"require_approval": require_approval})
    return obj
