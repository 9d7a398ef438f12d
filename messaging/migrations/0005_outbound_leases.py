"""Sends hold a lease while in flight, count their attempts and remember when a retry is due, so the sweeper
can take over what a dead worker left in "sending". Adding the columns is instant (constant defaults); the
partial index of unsettled sends is built CONCURRENTLY on PostgreSQL."""

from django.db import migrations, models

INDEX = "message_unsettled_idx"
COLUMNS = "messaging_message (delivery, next_attempt_at) WHERE delivery IN ('pending', 'sending')"


def create(apps, schema_editor):
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f"CREATE INDEX {concurrently}IF NOT EXISTS {INDEX} ON {COLUMNS}")


def drop(apps, schema_editor):
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("messaging", "0004_trigram_search")]

    operations = [
        migrations.AddField(
            model_name="message",
            name="locked_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="message",
            name="next_attempt_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="message",
            name="send_attempts",
            field=models.PositiveSmallIntegerField(db_default=0, default=0),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    model_name="message",
                    index=models.Index(
                        condition=models.Q(delivery__in=["pending", "sending"]),
                        fields=["delivery", "next_attempt_at"],
                        name=INDEX,
                    ),
                )
            ],
            database_operations=[migrations.RunPython(create, drop)],
        ),
    ]
