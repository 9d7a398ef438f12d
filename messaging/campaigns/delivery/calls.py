"""The LINE calls a sender makes for a batch, and small helpers around their errors."""

from __future__ import annotations

import uuid

from lineapi import LineAPIError

from ..models import Campaign, Delivery, DeliveryBatch


def personalised(messages: list, name: str) -> list:
    """Messages with ``{name}`` in text replaced by the friend's display name.

    Only a text message that names the friend is copied, and only its top level (its text is all that
    changes; the rest is shared, never modified): a deep copy per push cost more than the push's JSON.
    """
    return [
        dict(m, text=m["text"].replace("{name}", name))
        if m.get("type") == "text" and "{name}" in m.get("text", "")
        else m
        for m in messages
    ]


def send_batch(client, campaign: Campaign, batch: DeliveryBatch):
    """One multicast, broadcast or narrowcast request for the whole batch, with the batch's stored key."""
    common = {"retry_key": batch.retry_key, "notification_disabled": campaign.notification_disabled}
    if batch.kind == Delivery.MULTICAST:
        return client.multicast(
            batch.user_ids, campaign.messages, custom_aggregation_units=[campaign.unit_name], **common
        )
    if batch.kind == Delivery.BROADCAST:
        return client.broadcast(campaign.messages, **common)
    spec = campaign.audience or {}
    limit = {"max": int(spec["max"])} if spec.get("max") else None
    return client.narrowcast(campaign.messages, filter=spec.get("filter") or None, limit=limit, **common)


def send_push(client, campaign: Campaign, batch: DeliveryBatch, user_id: str, name: str):
    """One friend's personalised push; its key is derived from the batch's stored key, so it never changes."""
    return client.push(
        user_id,
        personalised(campaign.messages, name),
        retry_key=uuid.uuid5(batch.retry_key, user_id),
        notification_disabled=campaign.notification_disabled,
        custom_aggregation_units=[campaign.unit_name],
    )


def reason(exc: LineAPIError) -> dict:
    return {"status": exc.status, "kind": exc.kind, "message": exc.message, "details": exc.details[:20]}


def backoff(attempts: int) -> float:
    return float(min(2 ** max(0, attempts - 1), 30))
