"""Reads for the inbox and the API. Lists page by keyset (never OFFSET), so page 1,000 costs what page 1 does."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from django.db.models import BooleanField, F, Func, OuterRef, Q, QuerySet, Subquery
from django.utils.dateparse import parse_datetime

from .models import Conversation, Friend, Message

PAGE_SIZE = 30
SEARCH_LIMIT = 500  # matching messages a search pass collects (then their conversations); names alike


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


# -- search ---------------------------------------------------------------------
#
# Substring search, because Chinese, Japanese and Thai do not put spaces between words: 退貨 must be found
# inside 我想要退貨. On PostgreSQL a GIN trigram index (pg_trgm, migration 0004) on the message text and on
# friends' names serves `ILIKE '%term%'` for any term with a run of three or more letters, in every script.
# pg_trgm cannot use its index for one- or two-character terms (there is no trigram to look up), and
# those are common in Chinese and Japanese (退貨, 返品, a given name). Such queries look through a bounded
# window instead: the newest RECENT_MESSAGES messages of the channel and the names of the RECENT_FRIENDS
# friends who wrote last, found by range scans of ordinary indexes, so
# they cost the same on any history length. The page says when a search was limited that way.
# SQLite (development) runs the same queries with LIKE.

MIN_INDEXED_RUN = 3  # pg_trgm's index needs three consecutive letters
RECENT_MESSAGES = 20_000
RECENT_FRIENDS = 20_000
MAX_TERMS = 8


class Contains(Func):
    """`expression` contains `term`, ignoring case: `ILIKE '%term%'` on PostgreSQL (what the trigram index
    serves; Django's icontains compiles to UPPER(...) LIKE, which it does not), LIKE elsewhere.

    A term without upper and lower case (Chinese, Japanese, Thai, digits) uses plain LIKE, which the same
    index serves: ILIKE lower-cases every row it tests, four times the cost on CJK text."""

    output_field = BooleanField()

    def __init__(self, expression, term: str):
        super().__init__(expression)
        self.pattern = "%" + re.sub(r"([\\%_])", r"\\\1", term) + "%"
        self.caseless = term.lower() == term.upper()

    def as_sql(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        operator = "ILIKE" if connection.vendor == "postgresql" and not self.caseless else "LIKE"
        return f"{column} {operator} %s ESCAPE '\\'", [*params, self.pattern]


def _edge(char: str) -> bool:
    """Punctuation and symbols around a term (?, 。, 「」, #) are not part of what is looked for."""
    return unicodedata.category(char)[0] in "PS"


def search_terms(q: str) -> list[str]:
    """The whitespace-separated terms of a query, trimmed of punctuation, at most MAX_TERMS.

    Not `\\w+`: Thai vowel and tone marks are not word characters to Python's re, and would cut Thai
    words apart (ขอคืนสินค้า -> ขอค, นส, ...)."""
    terms: list[str] = []
    for raw in q.split():
        start, end = 0, len(raw)
        while start < end and _edge(raw[start]):
            start += 1
        while end > start and _edge(raw[end - 1]):
            end -= 1
        term = raw[start:end][:100]
        if term and term.casefold() not in (t.casefold() for t in terms):
            terms.append(term)
    return terms[:MAX_TERMS]


def indexable(term: str) -> bool:
    """True when pg_trgm can look the term up: it has a run of MIN_INDEXED_RUN letters, digits or marks."""
    run = 0
    for char in term:
        run = run + 1 if char.isalnum() or unicodedata.category(char)[0] == "M" else 0
        if run >= MIN_INDEXED_RUN:
            return True
    return False


def _all_contained(field: str, terms: list[str]) -> Q:
    q = Q()
    for term in terms:
        q &= Q(Contains(F(field), term))
    return q


def _nth(qs: QuerySet, n: int):
    return next(iter(qs[n - 1 : n]), None)


def recent_message_start(qs: QuerySet) -> int | None:
    """The id where the newest RECENT_MESSAGES messages of `qs` begin; None when it holds fewer (then a
    short query searches all of it). An index-only walk of (channel, id)."""
    return _nth(qs.order_by("-pk").values_list("pk", flat=True), RECENT_MESSAGES)


def message_search(qs: QuerySet, q: str) -> QuerySet:
    """Messages of `qs` whose text contains every term. A query without an indexable term (only one- or
    two-character terms) looks through the newest RECENT_MESSAGES messages of `qs` only."""
    terms = search_terms(q)
    if not terms:
        return qs.none()
    if not any(indexable(t) for t in terms):
        start = recent_message_start(qs)
        if start is not None:
            qs = qs.filter(pk__gte=start)
    return qs.filter(_all_contained("text", terms))


@dataclass(frozen=True)
class SearchResult:
    conversation_ids: frozenset[int]
    terms: tuple[str, ...]
    limited: bool  # a short query that looked at the recent window only


def conversation_search(channel, q: str) -> SearchResult:
    """The conversations whose messages, friend's name or group's name contain the query.

    A word found in thousands of messages fills SEARCH_LIMIT with whatever the index yields first, so then
    the newest messages are searched too (a backward walk that stops after SEARCH_LIMIT matches): the most
    recent conversations with the word are always listed.
    """
    terms = search_terms(q)
    if not terms:
        return SearchResult(frozenset(), (), False)
    full = any(indexable(t) for t in terms)
    messages = Message.objects.filter(channel=channel, is_unsent=False).order_by().filter(_all_contained("text", terms))
    found = list(messages.values_list("conversation_id", flat=True)[:SEARCH_LIMIT]) if full else []
    ids = set(found)
    start = None
    if not full or len(found) >= SEARCH_LIMIT:
        start = recent_message_start(Message.objects.filter(channel=channel))
        recent = messages.filter(pk__gte=start) if start is not None else messages
        ids.update(recent.order_by("-pk").values_list("conversation_id", flat=True)[:SEARCH_LIMIT])
    ids.update(_named(channel, terms, full))
    return SearchResult(frozenset(ids), tuple(terms), limited=not full and start is not None)


def _named(channel, terms: list[str], full: bool) -> list[int]:
    """Conversations with a friend or group whose name contains every term; for short queries, friends
    among the RECENT_FRIENDS who wrote last (a range of friend_last_contact_idx). Groups are few: all."""
    friends = Friend.objects.filter(channel=channel).order_by()
    if not full:
        newest = friends.filter(last_contact_at__isnull=False).order_by("-last_contact_at")
        edge = _nth(newest.values_list("last_contact_at", flat=True), RECENT_FRIENDS)
        if edge is not None:
            friends = friends.filter(last_contact_at__gte=edge)
    friend_ids = list(friends.filter(_all_contained("display_name", terms)).values_list("pk", flat=True)[:SEARCH_LIMIT])
    named = Conversation.objects.filter(channel=channel).order_by()
    groups = named.filter(_all_contained("group__name", terms))
    return [
        *named.filter(friend_id__in=friend_ids).values_list("pk", flat=True),
        *groups.values_list("pk", flat=True)[:SEARCH_LIMIT],
    ]


def search_hits(conversation_ids: list[int], terms: tuple[str, ...]) -> dict[int, str]:
    """For each listed conversation, the text of its newest message containing the terms (what the list
    shows instead of the last message). One query; each conversation walks its own thread index."""
    if not conversation_ids or not terms:
        return {}
    hit = (
        Message.objects.filter(conversation=OuterRef("pk"), is_unsent=False)
        .filter(_all_contained("text", list(terms)))
        .order_by("-sent_at", "-id")
        .values("text")[:1]
    )
    rows = Conversation.objects.filter(pk__in=conversation_ids).annotate(hit=Subquery(hit)).values_list("pk", "hit")
    return {pk: text for pk, text in rows if text}


@dataclass
class ConversationFilters:
    status: str = ""
    assignee: str = ""  # "me", "none", or a user pk
    tag: str = ""
    unread: bool = False
    q: str = ""


def conversation_list(
    channel,
    *,
    filters: ConversationFilters,
    user,
    cursor: Cursor | None = None,
    size=PAGE_SIZE,
    search: SearchResult | None = None,
):
    """Newest activity first; returns (conversations, next cursor or None). `search` is the
    conversation_search of filters.q when the caller already ran it."""
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
        qs = qs.filter(pk__in=(search or conversation_search(channel, filters.q)).conversation_ids)
    if cursor:
        qs = qs.filter(_before("last_message_at", cursor))
    rows = list(qs.order_by("-last_message_at", "-id")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    nxt = Cursor(rows[-1].last_message_at, rows[-1].pk) if more and rows else None
    return rows, nxt


# The inbox header's unread total adds up at most this many unread conversations (read from the partial
# index conversation_unread_idx) and says "more than" beyond: every agent's list polls it, and a full sum
# over 400,000 unread conversations took ~70 ms (bench/inbox.py) where a bounded one takes a few.
UNREAD_CONVERSATIONS_SUMMED = 5000


@dataclass(frozen=True)
class UnreadTotal:
    messages: int
    more: bool  # more unread conversations than were summed: at least ``messages`` unread messages


def unread_total(channel) -> UnreadTotal:
    # The largest first (the index read backwards): past the bound, the figure shown is as high as it can be.
    unread = Conversation.objects.filter(channel=channel, unread_count__gt=0).order_by("-unread_count")
    counts = list(unread.values_list("unread_count", flat=True)[: UNREAD_CONVERSATIONS_SUMMED + 1])
    more = len(counts) > UNREAD_CONVERSATIONS_SUMMED
    return UnreadTotal(sum(counts[:UNREAD_CONVERSATIONS_SUMMED]), more)


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


def thread_rows(conversation, pks: list[int]) -> list[Message]:
    """These lines of the thread as they are now (the poll refreshes sends still waiting for LINE)."""
    if not pks:
        return []
    return list(
        Message.objects.filter(conversation=conversation, pk__in=pks).select_related("staff").order_by("sent_at", "id")
    )
