"""Reads for the inbox and the API. Lists page by keyset (never OFFSET), so page 1,000 costs what page 1 does."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import BooleanField, F, Func, Q, QuerySet
from django.utils.dateparse import parse_datetime

from .models import Conversation, Message

PAGE_SIZE = 30
SEARCH_LIMIT = 1000  # conversations a search can list


@dataclass(frozen=True)
class Cursor:
    """A position in a list ordered by (time, id), both descending: "<iso time>|<id>"."""

    at: datetime
    pk: int

    def __str__(self) -> str:
        return f"{self.at.isoformat()}|{self.pk}"

    @classmethod
    def parse(cls, value: str | None) -> Cursor | None:
        if not value or "|" not in value:
            return None
        at, _, pk = value.rpartition("|")
        when = parse_datetime(at.replace(" ", "+"))
        if when is None or not pk.isdigit():
            return None
        return cls(when, int(pk))


def _before(field: str, cursor: Cursor) -> Q:
    # The redundant `field <= at` bounds the index range scan; the OR breaks ties on id.
    return Q(**{f"{field}__lte": cursor.at}) & (Q(**{f"{field}__lt": cursor.at}) | Q(pk__lt=cursor.pk))


class TextMatches(Func):
    """`to_tsvector('simple', text) @@ to_tsquery(...)`: the very expression the GIN index covers."""

    output_field = BooleanField()

    def __init__(self, expression, query: str):
        super().__init__(expression)
        self.query = query

    def as_sql(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        return f"to_tsvector('simple', {column}) @@ to_tsquery('simple', %s)", [*params, self.query]


def search_terms(q: str) -> list[str]:
    return re.findall(r"\w+", q)[:8]


def message_search(qs: QuerySet, q: str) -> QuerySet:
    """Messages whose text matches: PostgreSQL full-text (GIN index), else a LIKE per term."""
    terms = search_terms(q)
    if not terms:
        return qs.none()
    if connection.vendor == "postgresql":
        return qs.filter(TextMatches(F("text"), " & ".join(f"{t}:*" for t in terms)))
    for term in terms:
        qs = qs.filter(text__icontains=term)
    return qs


@dataclass
class ConversationFilters:
    status: str = ""
    assignee: str = ""  # "me", "none", or a user pk
    tag: str = ""
    unread: bool = False
    q: str = ""


def conversation_list(channel, *, filters: ConversationFilters, user, cursor: Cursor | None = None, size=PAGE_SIZE):
    """Newest activity first; returns (conversations, next cursor or None)."""
    qs = Conversation.objects.filter(channel=channel).select_related("friend", "group", "assignee")
    if filters.status in Conversation.Status.values:
        qs = qs.filter(status=filters.status)
    if filters.assignee == "me":
        qs = qs.filter(assignee=user)
    elif filters.assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif filters.assignee.isdigit():
        qs = qs.filter(assignee_id=int(filters.assignee))
    if filters.tag:
        qs = qs.filter(friend__tags__name=filters.tag)
    if filters.unread:
        qs = qs.filter(unread_count__gt=0)
    if filters.q:
        # Collect the few matching conversations first: filtering the whole list by an OR of a subquery
        # would walk every conversation of the channel.
        matching = message_search(Message.objects.filter(channel=channel, is_unsent=False), filters.q)
        ids = set(matching.order_by().values_list("conversation_id", flat=True)[:SEARCH_LIMIT])
        named = Conversation.objects.filter(channel=channel, friend__display_name__icontains=filters.q)
        ids.update(named.values_list("pk", flat=True)[:SEARCH_LIMIT])
        qs = qs.filter(pk__in=ids)
    if cursor:
        qs = qs.filter(_before("last_message_at", cursor))
    rows = list(qs.order_by("-last_message_at", "-id")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    nxt = Cursor(rows[-1].last_message_at, rows[-1].pk) if more and rows else None
    return rows, nxt


def unread_total(channel) -> int:
    from django.db.models import Sum

    return Conversation.objects.filter(channel=channel, unread_count__gt=0).aggregate(n=Sum("unread_count"))["n"] or 0


def thread_page(conversation, *, before: Cursor | None = None, size=PAGE_SIZE):
    """The newest `size` messages older than `before`, oldest first; plus the cursor for the next page back."""
    qs = Message.objects.filter(conversation=conversation).select_related("staff")
    if before:
        qs = qs.filter(_before("sent_at", before))
    rows = list(qs.order_by("-sent_at", "-id")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    older = Cursor(rows[-1].sent_at, rows[-1].pk) if more and rows else None
    return list(reversed(rows)), older


def thread_changed_since(conversation, since_pk: int) -> list[Message]:
    """Rows created after the newest one the page shows (a late message can carry an older time)."""
    return list(
        Message.objects.filter(conversation=conversation, pk__gt=since_pk)
        .select_related("staff")
        .order_by("sent_at", "id")
    )
