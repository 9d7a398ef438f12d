"""Keyword auto-replies and the greeting on follow. Both answer with the event's reply token (free)."""

from __future__ import annotations

import re

from django.db.models import Q
from django.utils import timezone

from .models import AutoReplyRule, Conversation, Greeting, Message


def rule_matches(rule: AutoReplyRule, text: str) -> bool:
    text = text.strip()
    if rule.match == AutoReplyRule.Match.EXACT:
        return text.casefold() == rule.keyword.strip().casefold()
    if rule.match == AutoReplyRule.Match.CONTAINS:
        return rule.keyword.strip().casefold() in text.casefold()
    try:
        return re.search(rule.keyword, text, flags=re.IGNORECASE) is not None
    except re.error:
        return False


def matching_rule(channel, text: str, *, now=None) -> AutoReplyRule | None:
    now = now or timezone.now()
    rules = AutoReplyRule.objects.filter(channel=channel, is_active=True).filter(
        Q(active_from__isnull=True) | Q(active_from__lte=now),
        Q(active_until__isnull=True) | Q(active_until__gt=now),
    )
    return next((rule for rule in rules if rule.messages and rule_matches(rule, text)), None)


def _queue(*, conversation: Conversation, messages: list[dict], sender: str, reply_token: str, event) -> bool:
    from .sending import outbound_create
    from .tasks import deliver_messages

    if Message.objects.filter(webhook_event=event, direction=Message.Direction.OUTBOUND).exists():
        return True  # a re-run of this event: already answered
    rows = outbound_create(conversation=conversation, messages=messages[:5], sender=sender, webhook_event=event)
    deliver_messages.delay_on_commit([r.pk for r in rows], reply_token=reply_token, allow_push=False)
    return True


def reply_if_matched(*, conversation: Conversation, text: str, reply_token: str, event) -> bool:
    """Answer a friend's text with the first matching active rule; True when a rule took the reply token."""
    rule = matching_rule(conversation.channel, text, now=event.timestamp)
    if rule is None:
        return False
    return _queue(
        conversation=conversation,
        messages=rule.messages,
        sender=Message.Sender.AUTO_REPLY,
        reply_token=reply_token,
        event=event,
    )


def greet(*, conversation: Conversation, reply_token: str, unblocked: bool, event) -> bool:
    greeting = Greeting.objects.filter(channel_id=conversation.channel_id, is_active=True).first()
    if greeting is None or not greeting.messages or (unblocked and not greeting.on_unblock):
        return False
    return _queue(
        conversation=conversation,
        messages=greeting.messages,
        sender=Message.Sender.GREETING,
        reply_token=reply_token,
        event=event,
    )
