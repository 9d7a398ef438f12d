"""Freezing: a started campaign's audience becomes DeliveryBatch rows (<= 500 user IDs and a stored retry key
each), chunk by chunk. The campaign row is locked and its cursor advances in the same transaction as the
inserts, so two freezers (a redelivered task, the sweeper) never create the same batch twice."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from .. import conf
from ..audiences import segment_friends
from ..models import BATCH_SIZE, AudienceKind, Campaign, CampaignState, Delivery, DeliveryBatch

FIRST_CHUNK_BATCHES = 4  # small, so that senders start within moments of "send"


@transaction.atomic
def campaign_freeze_step(*, campaign_pk: int, batches: int | None = None) -> tuple[int, bool]:
    """Create the next chunk of at most ``batches`` batches; returns (batches created, audience fully frozen)."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign_pk)
    if campaign.frozen or campaign.state not in (CampaignState.SENDING, CampaignState.PAUSED):
        return 0, True
    campaign.freezer_seen_at = timezone.now()
    seq = campaign.batches.count()
    if campaign.delivery in (Delivery.BROADCAST, Delivery.NARROWCAST):
        DeliveryBatch.objects.create(campaign=campaign, seq=0, kind=campaign.delivery, size=0)
        campaign.frozen, campaign.recipients_count = True, campaign.estimated_reach or 0
        campaign.save(update_fields=["frozen", "recipients_count", "freezer_seen_at", "updated_at"])
        return 1, True
    limit = (batches or conf.freeze_chunk()) * BATCH_SIZE
    if campaign.audience_kind == AudienceKind.LIST:
        ids = list(campaign.audience.get("user_ids") or [])[campaign.freeze_cursor: campaign.freeze_cursor + limit]
        cursor = campaign.freeze_cursor + len(ids)
    else:
        rows = list(
            segment_friends(campaign.channel, campaign.audience)
            .filter(pk__gt=campaign.freeze_cursor, pk__lte=campaign.freeze_max_pk or 0)
            .order_by("pk").values_list("pk", "user_id")[:limit]
        )
        ids = [user_id for _pk, user_id in rows]
        cursor = rows[-1][0] if rows else campaign.freeze_cursor
    DeliveryBatch.objects.bulk_create([
        DeliveryBatch(campaign=campaign, seq=seq + i, kind=campaign.delivery,
                      user_ids=ids[start:start + BATCH_SIZE], size=len(ids[start:start + BATCH_SIZE]))
        for i, start in enumerate(range(0, len(ids), BATCH_SIZE))
    ])
    campaign.freeze_cursor = cursor
    campaign.recipients_count += len(ids)
    campaign.frozen = len(ids) < limit
    campaign.save(update_fields=["freeze_cursor", "recipients_count", "frozen", "freezer_seen_at", "updated_at"])
    return -(-len(ids) // BATCH_SIZE), campaign.frozen
