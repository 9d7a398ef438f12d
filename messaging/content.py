"""The content archive: LINE deletes what users send after a while, so images, video, audio and files are
downloaded into our storage as soon as they arrive. Unsend makes a message unviewable everywhere."""

from __future__ import annotations

import logging
import mimetypes
import tempfile
from datetime import timedelta

from django.core.files import File
from django.db import transaction
from django.utils import timezone

from lineapi import LineAPIError

from .models import Conversation, Message, WebhookEvent

log = logging.getLogger(__name__)

MAX_CONTENT_ATTEMPTS = 40  # 202 "still preparing" answers included


def schedule_archive(message: Message) -> None:
    from .tasks import archive_content

    archive_content.delay_on_commit(message.pk)


def retry_delay(attempts: int) -> int:
    return min(5 * 2 ** min(attempts, 8), 600)


class NotReady(Exception):
    """LINE is still preparing the content (202); try later."""


def archive(message_pk: int, *, client_for) -> str:
    """Download one message's content into storage; returns the resulting content status.

    Raises NotReady (202) or a retryable LineAPIError for the task to retry later.
    """
    message = Message.objects.select_related("channel").get(pk=message_pk)
    if message.is_unsent or message.content_status != Message.ContentStatus.PENDING:
        return message.content_status
    Message.objects.filter(pk=message.pk).update(content_attempts=message.content_attempts + 1)
    client = client_for(message.channel)
    with tempfile.TemporaryFile() as tmp:
        try:
            result = client.get_content(message.line_message_id, stream_to=tmp)
        except LineAPIError as exc:
            if exc.retryable and message.content_attempts + 1 < MAX_CONTENT_ATTEMPTS:
                raise
            status = Message.ContentStatus.GONE if exc.kind == "not_found" else Message.ContentStatus.FAILED
            Message.objects.filter(pk=message.pk).update(content_status=status, error=str(exc.message)[:1000])
            return status
        if not result.ready:
            if message.content_attempts + 1 >= MAX_CONTENT_ATTEMPTS:
                Message.objects.filter(pk=message.pk).update(content_status=Message.ContentStatus.FAILED)
                return Message.ContentStatus.FAILED
            raise NotReady(message.pk)
        tmp.seek(0)
        content_type = (result.content_type or "application/octet-stream").split(";")[0].strip()
        name = _filename(message, content_type)
        message.content.save(name, File(tmp, name=name), save=False)
    return _finish(message, content_type, result.size)


def _filename(message: Message, content_type: str) -> str:
    if message.type == "file" and message.payload.get("fileName"):
        suffix = (
            "." + str(message.payload["fileName"]).rsplit(".", 1)[-1][:10] if "." in message.payload["fileName"] else ""
        )
    else:
        suffix = mimetypes.guess_extension(content_type) or ""
    return f"{message.line_message_id}{suffix}"


@transaction.atomic
def _finish(message: Message, content_type: str, size: int) -> str:
    current = Message.objects.select_for_update().get(pk=message.pk)
    if current.is_unsent:  # unsent while we downloaded: the file must not survive
        message.content.delete(save=False)
        return current.content_status
    Message.objects.filter(pk=message.pk).update(
        content=message.content.name,
        content_type=content_type[:100],
        content_size=size,
        content_status=Message.ContentStatus.READY,
    )
    return Message.ContentStatus.READY


def unsent_earlier(channel, line_message_id: str) -> bool:
    return WebhookEvent.objects.filter(
        channel=channel, type="unsend", payload__unsend__messageId=line_message_id
    ).exists()


@transaction.atomic
def message_unsend(*, channel, line_message_id: str) -> Message | None:
    """The user unsent a message: keep only that it existed; delete its text, payload and archived content."""
    message = Message.objects.select_for_update().filter(channel=channel, line_message_id=line_message_id).first()
    if message is None:
        return None  # not here yet: on_message checks for an earlier unsend
    stub = {"id": line_message_id, "type": message.type}
    if message.content:
        name = message.content.name
        transaction.on_commit(lambda: message.content.storage.delete(name))
    Message.objects.filter(pk=message.pk).update(
        is_unsent=True,
        text="",
        payload=stub,
        quote_token="",
        content="",
        content_type="",
        content_size=None,
        content_status=Message.ContentStatus.GONE if message.content_status else "",
    )
    # The raw events carry the text too (the message and any edits of it).
    for event in WebhookEvent.objects.filter(channel=channel, type__in=["message", "messageEdited"]).filter(
        payload__message__id=line_message_id
    ):
        event.payload = {**event.payload, "message": stub}
        event.save(update_fields=["payload"])
    conversation = Conversation.objects.get(pk=message.conversation_id)
    if conversation.last_message_type == message.type and conversation.last_message_at == message.sent_at:
        Conversation.objects.filter(pk=conversation.pk).update(last_message_preview="", last_message_type="unsent")
    return message


def stale_pending(*, older_than=timedelta(minutes=5)):
    """Archive downloads that a lost task left waiting."""
    return Message.objects.filter(
        content_status=Message.ContentStatus.PENDING,
        created_at__lt=timezone.now() - older_than,
        content_attempts__lt=MAX_CONTENT_ATTEMPTS,
    ).values_list("pk", flat=True)[:500]
