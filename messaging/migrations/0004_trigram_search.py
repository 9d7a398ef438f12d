"""Substring search that works for Chinese, Japanese and Thai: pg_trgm GIN indexes on the message text and on
friends' names replace the `simple` full-text index (which only matched whole space-separated runs), and a
(channel, id) index lets short queries scan the newest messages of a channel as a range.

PostgreSQL builds the indexes CONCURRENTLY (the migration is not atomic), so webhook processing keeps
inserting messages while they build. SQLite gets only the (channel, id) index: it searches with LIKE.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

TRIGRAM_INDEXES = {
    "message_text_trgm_idx": "messaging_message USING GIN (text gin_trgm_ops)",
    "friend_name_trgm_idx": "messaging_friend USING GIN (display_name gin_trgm_ops)",
}
RECENT = "message_channel_recent_idx"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {RECENT} ON messaging_message (channel_id, id DESC)")
        return
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {RECENT} ON messaging_message (channel_id, id DESC)"
    )
    for name, target in TRIGRAM_INDEXES.items():
        schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {target}")
    schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS message_text_search_idx")


def drop(apps, schema_editor):
    schema_editor.execute(f"DROP INDEX IF EXISTS {RECENT}")
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS message_text_search_idx ON messaging_message "
        "USING GIN (to_tsvector('simple', text))"
    )


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("messaging", "0003_outbound_fields")]
    operations = [
        TrigramExtension(),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    model_name="message",
                    index=models.Index(fields=["channel", "-id"], name=RECENT),
                )
            ],
            database_operations=[migrations.RunPython(create, drop)],
        ),
    ]
