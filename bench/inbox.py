"""Inbox reads at scale on PostgreSQL: conversation list, unread counts, thread pages, and search in the
languages the agents work in (Chinese, Japanese, Thai, English).

    .venv/bin/python bench/inbox.py [--friends 100000] [--messages 1000000] [--runs 200]
        [--database-url postgres://postgres@127.0.0.1:5432/bench_inbox] [--reuse]

Works in its own database (`bench_inbox` unless told otherwise; created when missing, never the shared
`postgres` one) and loads it with COPY: one channel, `--friends` friends (Chinese, Japanese, Thai and English
names) each with a conversation, `--messages` messages spread over them (45% Traditional Chinese, 20%
Japanese, 15% Thai, 20% English sentences, a third naming one of 5,000 products, a fifth carrying an order
number), and one long conversation of at least 10,050 messages for the deep-page test. The search indexes
(pg_trgm GIN on the text and on names, the (channel, id) window index) are built after the load.
`--reuse` skips the load when the database already holds this corpus at these sizes.

Then it times, through the app's own selectors (the queries the inbox runs): the first page of the
conversation list, the unread total, a thread's first page, the page 10,000 messages back (keyset cursor),
and inbox searches exactly as the list runs them (matching conversations, the page, the matching message
of each row) for a mix of what agents type: two-character Chinese and Japanese words (the bounded recent
window), longer Chinese/Japanese/Thai words and product names, an English word, an order number, and
friends' names (full and two-character given names). Each search kind gets its own row.
Prints a table, then `RESULT list_p99_ms=X thread_p99_ms=X deep_ratio=X search_p95_ms=X`
(search_p95_ms: p95 over the whole search mix). Goals: list and thread p99 under 30 ms, deep page no
slower than 1.2x the first, search p95 under 100 ms.
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
CHANNEL_ID = "2999000002"
CORPUS = "cjk-2"  # bump when the generated data changes, so --reuse reloads

ZH = [
    "我想要退貨，可以嗎？",
    "請問運費多少？",
    "訂單什麼時候會到",
    "可以換尺寸嗎",
    "謝謝你們",
    "這個還有貨嗎",
    "我要取消訂單",
    "發票可以寄給我嗎",
    "會員點數怎麼用",
    "優惠券不能用",
    "你好，請問一下",
    "收到了，謝謝",
]
JA = [
    "注文した商品がまだ届きません",
    "返品はできますか",
    "サイズを交換したいです",
    "ありがとうございます",
    "在庫はありますか",
    "クーポンが使えません",
    "キャンセルをお願いします",
    "こんにちは",
]
TH = [
    "ขอคืนสินค้าได้ไหมคะ",
    "ค่าส่งเท่าไหร่ครับ",
    "สินค้ายังไม่ได้รับเลย",
    "ขอบคุณค่ะ",
    "มีไซส์ M ไหม",
    "ยกเลิกคำสั่งซื้อได้ไหม",
    "สวัสดีครับ",
]
EN = [
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
    "today",
    "tomorrow",
    "stock",
    "color",
    "shoes",
    "bag",
]
ZH_CHARS = "茶拿鐵奶綠紅烏龍抹糖冰熱珍珠布丁芋頭椰果蜜桃莓芒檸檬柚香草焦糖可豆乳酪蛋捲餅乾麵包蛋糕"
KATAKANA = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン"
THAI_CONSONANTS = "กขคงจฉชซญดตถทธนบปผพฟภมยรลวศสหอฮ"
ZH_SURNAMES = "陳林黃張李王吳劉蔡楊許鄭謝郭洪"
ZH_GIVEN = "美玲志明雅婷家豪怡君俊傑淑芬建宏佳穎"
JA_SURNAMES = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村"]
JA_GIVEN = ["花子", "太郎", "陽菜", "翔太", "美咲", "大輔", "さくら", "ゆうと"]
TH_NAMES = ["สมชาย", "สมศรี", "วิภา", "ประเสริฐ", "กมลา", "อนุชา", "ศิริพร", "ธนพล"]


def products(rnd: random.Random) -> list[str]:
    """5,000 product names across the scripts: each appears in about 1/15,000 of the messages."""
    out: set[str] = set()
    while len(out) < 5000:
        kind = rnd.random()
        if kind < 0.5:
            out.add("".join(rnd.choice(ZH_CHARS) for _ in range(4)))
        elif kind < 0.8:
            out.add("".join(rnd.choice(KATAKANA) for _ in range(4)))
        else:
            out.add("".join(rnd.choice(THAI_CONSONANTS) for _ in range(5)))
    return sorted(out)


def friend_name(i: int, rnd: random.Random) -> str:
    kind = i % 10
    if kind < 4:
        return rnd.choice(ZH_SURNAMES) + rnd.choice(ZH_GIVEN) + rnd.choice(ZH_GIVEN)
    if kind < 6:
        return rnd.choice(JA_SURNAMES) + rnd.choice(JA_GIVEN)
    if kind < 8:
        return f"{rnd.choice(TH_NAMES)} {rnd.choice(TH_NAMES)}"
    return f"Friend {i}"


def message_text(n: int, rnd: random.Random, catalogue: list[str]) -> str:
    lang = rnd.random()
    if lang < 0.45:
        parts = rnd.sample(ZH, 2)
    elif lang < 0.65:
        parts = rnd.sample(JA, 2)
    elif lang < 0.80:
        parts = rnd.sample(TH, 2)
    else:
        parts = [" ".join(rnd.choice(EN) for _ in range(6))]
    if rnd.random() < 0.33:
        parts.insert(1, rnd.choice(catalogue))
    if rnd.random() < 0.2:
        parts.append(f"#{1_000_000 + n}")
    return " ".join(parts)


def setup_django(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1].split("?")[0]
    if name in ("postgres", "template0", "template1"):
        raise SystemExit("give the benchmark a database of its own (e.g. .../bench_inbox), not the shared one")
    # CREATE DATABASE has to be said from another database; nothing is written there.
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = url
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


# Built after the load (as migration 0004 defines them): COPY into indexed tables is several times slower.
SEARCH_INDEXES = {
    "message_text_trgm_idx": "messaging_message USING GIN (text gin_trgm_ops)",
    "friend_name_trgm_idx": "messaging_friend USING GIN (display_name gin_trgm_ops)",
    "message_channel_recent_idx": "messaging_message (channel_id, id DESC)",
}
FRIEND_COLUMNS = [
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
]
CONVERSATION_COLUMNS = [
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
]
MESSAGE_COLUMNS = [
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
]
DEEP = 10_050


def load(friends: int, messages: int) -> None:
    from django.db import connection

    from accounts.models import Channel

    with connection.cursor() as c:
        c.execute(
            "TRUNCATE messaging_message, messaging_conversation, messaging_friend_tags, messaging_friend, "
            "messaging_followevent CASCADE"
        )
        for name in [*SEARCH_INDEXES, "message_text_search_idx"]:
            c.execute(f"DROP INDEX IF EXISTS {name}")
    channel, _ = Channel.objects.get_or_create(
        channel_id=CHANNEL_ID,
        defaults={
            "name": "bench inbox",
            "channel_secret": "x",
            "token_mode": "long_lived",
            "access_token": "x",
            "bot_user_id": "U" + "cd" * 16,
        },
    )
    start = datetime(2024, 1, 1, tzinfo=UTC)
    rnd = random.Random(1)
    catalogue = products(rnd)
    raw = connection.connection
    t0 = time.perf_counter()
    with raw.cursor() as cur:
        copy_rows(
            cur,
            "messaging_friend",
            FRIEND_COLUMNS,
            (
                (i, channel.pk, f"U{i:032x}", friend_name(i, rnd), "", "", "zh-TW", True, "", start, start)
                + (start + timedelta(seconds=i),)
                for i in range(1, friends + 1)
            ),
        )
        copy_rows(
            cur,
            "messaging_conversation",
            CONVERSATION_COLUMNS,
            (
                (i, channel.pk, "user", f"U{i:032x}", i, rnd.choice(["open", "pending", "resolved"]))
                + (rnd.choice([0, 0, 0, 1, 2]), start + timedelta(seconds=i * 5), "你好", "text", "", start)
                for i in range(1, friends + 1)
            ),
        )

        def message_rows():
            for n in range(1, messages + 1):
                conv = 1 if n <= DEEP else rnd.randint(2, friends)
                text = message_text(n, rnd, catalogue)
                yield (n, channel.pk, conv, "in", "text", "friend", "", text, "{}", "", start + timedelta(seconds=n))
                yield ("", "received", "", "", 0, "", False, "", "", "", 0, start)

        def rows():
            parts = message_rows()
            for head in parts:
                yield head + next(parts)

        copy_rows(cur, "messaging_message", MESSAGE_COLUMNS, rows())
        for table in ("messaging_friend", "messaging_conversation", "messaging_message"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        cur.execute(f"COMMENT ON TABLE messaging_message IS 'bench {CORPUS} {friends} {messages}'")
    raw.commit()
    print(f"loaded {friends} friends, {messages} messages in {time.perf_counter() - t0:.0f} s", flush=True)
    t0 = time.perf_counter()
    with connection.cursor() as c:
        c.execute("SET maintenance_work_mem = '512MB'")
        for name, target in SEARCH_INDEXES.items():
            c.execute(f"CREATE INDEX {name} ON {target}")
        c.execute("ANALYZE")
        c.execute(
            "SELECT pg_size_pretty(pg_relation_size('messaging_message')), "
            "pg_size_pretty(pg_relation_size('message_text_trgm_idx'))"
        )
        table, index = c.fetchone()
    print(f"search indexes and ANALYZE in {time.perf_counter() - t0:.0f} s (messages {table}, trigram {index})")


def loaded(friends: int, messages: int) -> bool:
    from django.db import connection

    with connection.cursor() as c:
        c.execute("SELECT obj_description('messaging_message'::regclass)")
        return c.fetchone()[0] == f"bench {CORPUS} {friends} {messages}"


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


def search_mix(friends: int, messages: int) -> dict[str, list[str]]:
    """What agents type, by kind. Every query is run the way the inbox list runs it."""
    rnd = random.Random(7)
    catalogue = products(random.Random(1))
    names = [friend_name(i, random.Random(i)) for i in range(1, 200)]
    return {
        "zh 2 chars": ["退貨", "運費", "訂單", "發票", "尺寸", "取消"],
        "ja 2 chars": ["返品", "在庫", "注文"],
        "zh words": ["我想要退貨", "會員點數", "優惠券", "寄給我"],
        "ja words": ["届きません", "交換したい", "クーポン"],
        "th words": ["คืนสินค้า", "ค่าส่ง", "ยกเลิกคำสั่งซื้อ"],
        "product": rnd.sample(catalogue, 40),
        "english": ["refund", "delivery", "coupon tomorrow"],
        "order no": [str(1_000_000 + rnd.randint(1, messages)) for _ in range(40)],
        "name full": [n for n in names if not n.startswith("Friend")][:30],
        "name 2 chars": list(ZH_GIVEN[i : i + 2] for i in range(0, len(ZH_GIVEN) - 1, 2)) + ["花子", "太郎"],
    }


def inbox_search(channel, q: str, nobody) -> None:
    """What the inbox list does for a search: matching conversations, the page, each row's matching line."""
    from messaging import selectors

    search = selectors.conversation_search(channel, q)
    rows, _ = selectors.conversation_list(
        channel, filters=selectors.ConversationFilters(q=q), user=nobody, search=search
    )
    selectors.search_hits([c.pk for c in rows], search.terms)


def measure(runs: int, friends: int, messages: int) -> dict:
    from accounts.models import Channel
    from messaging import selectors
    from messaging.models import Conversation, Message

    channel = Channel.objects.get(channel_id=CHANNEL_ID)
    hot = Conversation.objects.get(pk=1)
    nobody = type("U", (), {"pk": 0})()
    filters = selectors.ConversationFilters()
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
    }
    mix = search_mix(friends, messages)
    per_kind = max(10, runs // 4)
    everything: list[float] = []
    for kind, queries in mix.items():
        rnd = random.Random(kind)
        values = timed(lambda qs=queries, r=rnd: inbox_search(channel, r.choice(qs), nobody), per_kind)
        results[f"search {kind}"] = values
        everything += values
    results["search (all)"] = sorted(everything)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--friends", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_INBOX_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_inbox"),
    )
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        raise SystemExit("this benchmark runs on PostgreSQL")
    if args.messages < DEEP + 50:
        raise SystemExit("--messages must be at least 10,100 (one conversation needs a page 10,000 deep)")
    setup_django(args.database_url)

    if not (args.reuse and loaded(args.friends, args.messages)):
        load(args.friends, args.messages)
    results = measure(args.runs, args.friends, args.messages)
    print(f"{'query':20} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for name, values in results.items():
        print(f"{name:20} {pct(values, 0.5):8.2f} {pct(values, 0.95):8.2f} {pct(values, 0.99):8.2f}")
    deep_ratio = pct(results["thread deep"], 0.5) / pct(results["thread"], 0.5)
    print(
        f"RESULT list_p99_ms={pct(results['list'], 0.99):.2f} thread_p99_ms={pct(results['thread'], 0.99):.2f} "
        f"deep_ratio={deep_ratio:.2f} search_p95_ms={pct(results['search (all)'], 0.95):.2f}"
    )


if __name__ == "__main__":
    main()
