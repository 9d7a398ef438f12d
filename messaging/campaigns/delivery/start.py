"""Starting: a due scheduled campaign moves to sending exactly once, however many callers try."""

from __future__ import annotations

from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.services import line_client

from ..models import AudienceKind, Campaign, CampaignState, PauseReason
from ..quota import quota_check
from ..services import campaign_pause, event
from ..validation import delivery_for


def campaign_start(*, campaign_pk: int, queue_freezer: bool = True) -> bool:
    """Move a due scheduled campaign to sending, once: the conditional UPDATE lets only one caller win,
    however many beats, sweeps or workers try at the same moment. Returns True for the winner.

    The winner queues the freezer, unless the caller (the start task) runs it itself right after.
    """
    campaign = Campaign.objects.select_related("channel").get(pk=campaign_pk)
    if campaign.state != CampaignState.SCHEDULED:
        return False
    quota = None
    if not campaign.quota_override:
        # Read LINE's quota outside the transaction (an HTTP call must not hold the database lock).
        quota = quota_check(channel=campaign.channel, client=line_client(campaign.channel),
                            reach=campaign.estimated_reach or 0, exclude_pk=campaign.pk)
    now = timezone.now()
    with transaction.atomic():
        won = Campaign.objects.filter(pk=campaign_pk, state=CampaignState.SCHEDULED, scheduled_at__lte=now).update(
            state=CampaignState.SENDING, started_at=now, updated_at=now, kicked_at=now,
            delivery=delivery_for(campaign.audience_kind, campaign.personalize),
        )
        if not won:
            return False
        campaign.refresh_from_db()
        if campaign.audience_kind == AudienceKind.SEGMENT:
            # Friends who follow after this moment are not part of the frozen audience.
            from messaging.models import Friend

            top = Friend.objects.filter(channel=campaign.channel).aggregate(m=Max("pk"))["m"]
            Campaign.objects.filter(pk=campaign.pk).update(freeze_max_pk=top or 0)
        event(campaign, "started", _("Sending started."))
        if quota is not None and not quota.ok:
            campaign_pause(campaign=campaign, actor=None, reason=PauseReason.QUOTA, note=quota.message)
            tell_marketer(campaign, quota.message)
            return True
        if queue_freezer:
            from ..tasks import freeze_campaign

            freeze_campaign.delay_on_commit(campaign.pk)
    return True


def due_campaign_pks(now=None, *, grace_seconds: float = 0) -> list[int]:
    """Scheduled campaigns whose time came at least ``grace_seconds`` ago (oldest first)."""
    now = (now or timezone.now()) - timezone.timedelta(seconds=grace_seconds)
    return list(Campaign.objects.filter(state=CampaignState.SCHEDULED, scheduled_at__lte=now)
                .order_by("scheduled_at").values_list("pk", flat=True)[:100])


def tell_marketer(campaign: Campaign, note: str) -> None:
    """The campaign page shows the alert; the creator also gets an e-mail when they have an address."""
    user = campaign.created_by
    if user is not None and user.email:
        send_mail(_("Campaign paused: %(name)s") % {"name": campaign.name}, note, None, [user.email],
                  fail_silently=True)
