"""Inbox reads at scale on PostgreSQL: conversation list, unread counts, thread pages, search.

    .venv/bin/python bench/inbox.py [--friends 1000000] [--messages 10000000] [--runs 200]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres] [--reuse]

Loads a separate database (`bench_inbox`) with COPY: one channel, `--friends` friends each with a
conversation, `--messages` messages spread over them, and one long conversation of at least 10,050
messages for the deep-page test. The full-text GIN index is built after the load. Then it times, through
the app's own selectors (the queries the inbox runs): the first page of the conversation list, the unread
total, a thread's first page, the page 10,000 messages back (keyset cursor), and a full-text search.
`--reuse` skips the load when the database already holds the data.
Prints a table, then `RESULT list_p99_ms=X thread_p99_ms=X deep_ratio=X search_p95_ms=X`.
Goals: list and thread p99 under 30 ms, deep page no slower than 1.2x the first.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORDS = [
    "order",
    "size",
    "refund",
    "delivery",
    "coupon",
    "hello",
    "thanks",
    "price",
    "shop",
    "store",
    "open",
    "today",
    "tomorrow",
    "stock",
    "color",
    "red",
    "blue",
    "green",
    "shoes",
    "shirt",
    "bag",
    "return",
    "exchange",
    "member",
    "point",
    "card",
    "gift",
]


def setup_django(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'bench_inbox'").fetchone():
            conn.execute('CREATE DATABASE "bench_inbox"')
    os.environ["DATABASE_URL"] = url.rsplit("/", 1)[0] + "/bench_inbox"
    os.environ.setdefault("DJANGO_DEBUG", "1")
    os.environ.setdefault("VAR_DIR", "/tmp/bench-inbox-var")
    os.environ.setdefault("FIELD_ENCRYPTION_KEY", "bGluZS1vYS1jb25zb2xlLWJlbmNobWFyay1rZXktMzI=")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def copy_rows(cursor, table: str, columns: list[str], rows) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def load(friends: int, messages: int) -> None:
    from django.db import connection

    from accounts.models import Channel

    with connection.cursor() as c:
        c.execute(
            "TRUNCATE messaging_message, messaging_conversation, messaging_friend_tags, messaging_friend, "
            "messaging_followevent CASCADE"
        )
        c.execute("DROP INDEX IF EXISTS message_text_search_idx")
    channel, _ = Channel.objects.get_or_create(
        channel_id="2999000002",
        defaults={
            "name": "bench inbox",
            "channel_secret": "x",
            "token_mode": "long_lived",
            "access_token": "x",
            "bot_user_id": "U" + "cd" * 16,
        },
    )
    start = datetime(2024, 1, 1, tzinfo=UTC)
    raw = connection.connection
    t0 = time.perf_counter()
    with raw.cursor() as cur:
        copy_rows(
            cur,
            "messaging_friend",
            [
                "id",
                "channel_id",
                "user_id",
                "display_name",
                "picture_url",
                "status_message",
                "language",
                "is_following",
                "notes",
                "created_at",
                "followed_at",
                "last_contact_at",
            ],
            (
                (
                    i,
                    channel.pk,
                    f"U{i:032x}",
                    f"Friend {i}",
                    "",
                    "",
                    "zh-TW",
                    True,
                    "",
                    start,
                    start,
                    start + timedelta(seconds=i),
                )
                for i in range(1, friends + 1)
            ),
        )
        copy_rows(
            cur,
            "messaging_conversation",
            [
                "id",
                "channel_id",
                "source_type",
                "source_id",
                "friend_id",
                "status",
                "unread_count",
                "last_message_at",
                "last_message_preview",
                "last_message_type",
                "reply_token",
                "created_at",
            ],
            (
                (
                    i,
                    channel.pk,
                    "user",
                    f"U{i:032x}",
                    i,
                    random.choice(["open", "pending", "resolved"]),
                    random.choice([0, 0, 0, 1, 2]),
                    start + timedelta(seconds=i * 5),
                    "hello",
                    "text",
                    "",
                    start,
                )
                for i in range(1, friends + 1)
            ),
        )
        deep = 10_050

        def message_rows():
            rnd = random.Random(1)
            for n in range(1, messages + 1):
                conv = 1 if n <= deep else rnd.randint(2, friends)
                text = " ".join(rnd.choice(WORDS) for _ in range(6)) + f" {n}"
                yield (
                    n,
                    channel.pk,
                    conv,
                    "in",
                    "text",
                    "friend",
                    "",
                    text,
                    "{}",
                    "",
                    start + timedelta(seconds=n),
                    "",
                    "received",
                    "",
                    "",
                    0,
                    "",
                    False,
                    "",
                    "",
                    "",
                    0,
                    start,
                )

        copy_rows(
            cur,
            "messaging_message",
            [
                "id",
                "channel_id",
                "conversation_id",
                "direction",
                "type",
                "sender",
                "sender_user_id",
                "text",
                "payload",
                "line_message_id",
                "sent_at",
                "via",
                "delivery",
                "line_request_id",
                "error",
                "part",
                "quote_token",
                "is_unsent",
                "content",
                "content_type",
                "content_status",
                "content_attempts",
                "created_at",
            ],
            message_rows(),
        )
        for table in ("messaging_friend", "messaging_conversation", "messaging_message"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    raw.commit()
    print(f"loaded {friends} friends, {messages} messages in {time.perf_counter() - t0:.0f} s", flush=True)
    t0 = time.perf_counter()
    with connection.cursor() as c:
        c.execute("CREATE INDEX message_text_search_idx ON messaging_message USING GIN (to_tsvector('simple', text))")
        c.execute("ANALYZE")
    print(f"search index and ANALYZE in {time.perf_counter() - t0:.0f} s", flush=True)


def timed(fn, runs: int) -> list[float]:
    fn()  # warm
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return sorted(out)


def pct(values, p):
    return values[min(len(values) - 1, int(len(values) * p))]


def measure(runs: int) -> dict:
    from accounts.models import Channel
    from messaging import selectors
    from messaging.models import Conversation, Message

    channel = Channel.objects.get(channel_id="2999000002")
    hot = Conversation.objects.get(pk=1)
    nobody = type("U", (), {"pk": 0})()
    filters = selectors.ConversationFilters()
    total = max(Message.objects.order_by("-id").values_list("id", flat=True).first(), 1_000_001)
    deep_row = Message.objects.filter(conversation=hot).order_by("-sent_at", "-id")[10_000]
    deep = selectors.Cursor(deep_row.sent_at, deep_row.pk)
    results = {
        "list": timed(lambda: selectors.conversation_list(channel, filters=filters, user=nobody), runs),
        "list open": timed(
            lambda: selectors.conversation_list(
                channel, filters=selectors.ConversationFilters(status="open"), user=nobody
            ),
            runs,
        ),
        "unread": timed(lambda: selectors.unread_total(channel), max(5, runs // 20)),
        "thread": timed(lambda: selectors.thread_page(hot), runs),
        "thread deep": timed(lambda: selectors.thread_page(hot, before=deep), runs),
        # What agents search for: an order number, a name (a rare token), not a stop word.
        "search": timed(
            lambda: list(
                selectors.message_search(
                    Message.objects.filter(channel=channel), str(random.randint(1_000_000, total))
                ).order_by("-sent_at", "-id")[:30]
            ),
            max(10, runs // 4),
        ),
        "list search": timed(
            lambda: selectors.conversation_list(
                channel, filters=selectors.ConversationFilters(q=str(random.randint(1_000_000, total))), user=nobody
            ),
            max(10, runs // 4),
        ),
        # The worst case: two words each in a fifth of all messages.
        "search common": timed(
            lambda: list(
                selectors.message_search(Message.objects.filter(channel=channel), "refund coupon").order_by(
                    "-sent_at", "-id"
                )[:30]
            ),
            3,
        ),
    }
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--friends", type=int, default=1_000_000)
    parser.add_argument("--messages", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    )
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        raise SystemExit("this benchmark runs on PostgreSQL")
    if args.messages < 10_100:
        raise SystemExit("--messages must be at least 10,100 (one conversation needs a page 10,000 deep)")
    setup_django(args.database_url)
    from messaging.models import Message

    if not (args.reuse and Message.objects.count() >= args.messages):
        load(args.friends, args.messages)
    results = measure(args.runs)
    print(f"{'query':14} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for name, values in results.items():
        print(f"{name:14} {pct(values, 0.5):8.2f} {pct(values, 0.95):8.2f} {pct(values, 0.99):8.2f}")
    deep_ratio = pct(results["thread deep"], 0.5) / pct(results["thread"], 0.5)
    print(
        f"RESULT list_p99_ms={pct(results['list'], 0.99):.2f} thread_p99_ms={pct(results['thread'], 0.99):.2f} "
        f"deep_ratio={deep_ratio:.2f} search_p95_ms={pct(results['search'], 0.95):.2f}"
    )


if __name__ == "__main__":
    main()
