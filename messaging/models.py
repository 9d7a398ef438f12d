"""Friends, groups, the raw webhook events (the outbox), conversations and the message log, auto-replies.

Names and fields used by `messaging.campaigns` to build audiences are stable: Friend.is_following,
Friend.tags, Friend.followed_at, Friend.last_contact_at, Friend.language.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from accounts.models import Channel

from .reasons import UNCONFIRMED, reason_text


class Tag(models.Model):
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(_("name"), max_length=50)
    color = models.CharField(_("colour"), max_length=7, default="#6b7280")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "name"], name="tag_name_unique_per_channel")]
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class Friend(models.Model):
    """A LINE user who follows (or followed, or wrote to) the channel."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="friends")
    user_id = models.CharField(_("LINE user ID"), max_length=33)
    display_name = models.CharField(_("display name"), max_length=200, blank=True)
    picture_url = models.URLField(_("picture"), max_length=1000, blank=True)
    status_message = models.CharField(_("status message"), max_length=1000, blank=True)
    language = models.CharField(_("language"), max_length=20, blank=True)
    is_following = models.BooleanField(_("following"), default=False)
    followed_at = models.DateTimeField(_("followed at"), null=True, blank=True)
    blocked_at = models.DateTimeField(_("blocked at"), null=True, blank=True)
    unblocked_at = models.DateTimeField(_("unblocked at"), null=True, blank=True)
    first_contact_at = models.DateTimeField(_("first contact"), null=True, blank=True)
    last_contact_at = models.DateTimeField(_("last contact"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    # The business's own ID for the customer this friend linked their LINE account to (LINE's account
    # link; filled by the linking app). Empty: not linked.
    customer_id = models.CharField(_("linked customer"), max_length=255, blank=True)
    linked_at = models.DateTimeField(_("linked at"), null=True, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="friends", verbose_name=_("tags"))
    profile_fetched_at = models.DateTimeField(_("profile fetched at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "user_id"], name="friend_unique_per_channel")]
        indexes = [
            models.Index(fields=["channel", "is_following"], name="friend_following_idx"),
            models.Index(fields=["channel", "last_contact_at"], name="friend_last_contact_idx"),
        ]
        ordering = ["-last_contact_at", "-pk"]
        verbose_name = _("friend")
        verbose_name_plural = _("friends")

    def __str__(self) -> str:
        return self.display_name or self.user_id

    @property
    def name(self) -> str:
        return self.display_name or self.user_id


class FollowEvent(models.Model):
    """Follow history: every follow, block and unblock with its time."""

    class Kind(models.TextChoices):
        FOLLOWED = "followed", _("Followed")
        BLOCKED = "blocked", _("Blocked")
        UNBLOCKED = "unblocked", _("Unblocked")

    friend = models.ForeignKey(Friend, on_delete=models.CASCADE, related_name="follow_events")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    at = models.DateTimeField(_("at"))
    webhook_event = models.OneToOneField(
        "WebhookEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_event"
    )

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("follow event")
        verbose_name_plural = _("follow history")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"


class Group(models.Model):
    """A LINE group or multi-person room the bot is (or was) in."""

    class Kind(models.TextChoices):
        GROUP = "group", _("Group")
        ROOM = "room", _("Room")

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="groups")
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    group_id = models.CharField(_("group or room ID"), max_length=33)
    name = models.CharField(_("name"), max_length=200, blank=True)
    picture_url = models.URLField(_("picture"), max_length=1000, blank=True)
    member_count = models.PositiveIntegerField(_("members"), null=True, blank=True)
    is_member = models.BooleanField(_("bot is in it"), default=True)
    joined_at = models.DateTimeField(_("joined at"), null=True, blank=True)
    left_at = models.DateTimeField(_("left at"), null=True, blank=True)
    summary_fetched_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "group_id"], name="group_unique_per_channel")]
        verbose_name = _("group")
        verbose_name_plural = _("groups")

    def __str__(self) -> str:
        return self.name or self.group_id


class GroupMember(models.Model):
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="members")
    user_id = models.CharField(_("LINE user ID"), max_length=33)
    display_name = models.CharField(_("display name"), max_length=200, blank=True)
    is_member = models.BooleanField(default=True)
    joined_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "user_id"], name="group_member_unique")]
        verbose_name = _("group member")
        verbose_name_plural = _("group members")

    def __str__(self) -> str:
        return self.display_name or self.user_id


class WebhookEvent(models.Model):
    """One event exactly as LINE sent it. The rows are the outbox the processing tasks work from."""

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("webhook event status", "Pending")
        PROCESSING = "processing", _("Processing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        UNKNOWN = "unknown", _("Unknown type (stored)")

    # No index of its own: the unique constraint below starts with the channel and serves every lookup by
    # channel, and each index is one more write for every event LINE sends.
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="webhook_events", db_index=False)
    webhook_event_id = models.CharField(_("webhook event ID"), max_length=64)
    type = models.CharField(_("type"), max_length=40)
    mode = models.CharField(_("mode"), max_length=16, blank=True)
    source_type = models.CharField(_("source type"), max_length=8, blank=True)
    source_id = models.CharField(_("source ID"), max_length=64, blank=True)
    user_id = models.CharField(_("user ID"), max_length=64, blank=True)
    timestamp = models.DateTimeField(_("event time"))
    payload = models.JSONField(_("payload"))
    is_redelivery = models.BooleanField(_("redelivery"), default=False)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "webhook_event_id"], name="webhook_event_unique_per_channel")
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_event_due_idx"),
            models.Index(fields=["channel", "source_id", "timestamp"], name="webhook_event_source_idx"),
        ]
        ordering = ["-received_at", "-pk"]
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")

    def __str__(self) -> str:
        return f"{self.type} {self.webhook_event_id}"

    @property
    def last_error_text(self) -> str:
        """last_error in the reader's language when it is one of our sentences (stored as English msgids);
        a handler's exception text stays as it was."""
        return gettext(self.last_error) if self.last_error else ""


class Conversation(models.Model):
    """The chat with one friend, group or room: what the inbox lists."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("conversation status", "Open")
        PENDING = "pending", pgettext_lazy("conversation status", "Pending")
        RESOLVED = "resolved", pgettext_lazy("conversation status", "Resolved")

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="conversations")
    source_type = models.CharField(_("kind"), max_length=8)  # user, group, room
    source_id = models.CharField(_("LINE ID"), max_length=33)
    friend = models.OneToOneField(Friend, null=True, blank=True, on_delete=models.CASCADE, related_name="conversation")
    group = models.OneToOneField(Group, null=True, blank=True, on_delete=models.CASCADE, related_name="conversation")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_conversations",
        verbose_name=_("assignee"),
    )
    unread_count = models.PositiveIntegerField(_("unread"), default=0)
    last_message_at = models.DateTimeField(_("last activity"), default=timezone.now)
    last_message_preview = models.CharField(_("last message"), max_length=120, blank=True)
    last_message_type = models.CharField(max_length=24, blank=True)
    # The newest reply token and when its event happened/arrived: the inbox replies with it while fresh.
    reply_token = models.CharField(max_length=64, blank=True)
    reply_token_received_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "source_id"], name="conversation_unique_per_channel")]
        indexes = [
            models.Index(fields=["channel", "-last_message_at", "-id"], name="conversation_list_idx"),
            models.Index(fields=["channel", "status", "-last_message_at", "-id"], name="conversation_status_idx"),
            # The unread total reads the unread conversations alone (selectors.unread_total).
            models.Index(
                fields=["channel", "unread_count"],
                condition=models.Q(unread_count__gt=0),
                name="conversation_unread_idx",
            ),
        ]
        ordering = ["-last_message_at", "-id"]
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")

    def __str__(self) -> str:
        return str(self.friend or self.group or self.source_id)


def content_path(message: Message, filename: str) -> str:
    return f"line-content/{message.channel_id}/{message.sent_at:%Y/%m}/{filename}"


class Message(models.Model):
    """One line of the conversation log: inbound, outbound, a system line (follow, postback, ...) or a note."""

    class Direction(models.TextChoices):
        INBOUND = "in", _("Inbound")
        OUTBOUND = "out", _("Outbound")
        SYSTEM = "system", _("System")
        NOTE = "note", _("Internal note")

    class Sender(models.TextChoices):
        FRIEND = "friend", pgettext_lazy("message sender", "Friend")
        STAFF = "staff", _("Staff member")
        AUTO_REPLY = "auto_reply", _("Auto-reply")
        GREETING = "greeting", pgettext_lazy("message sender: the greeting message", "Greeting")
        CAMPAIGN = "campaign", _("Campaign")
        SYSTEM = "system", _("System")

    class Via(models.TextChoices):
        NONE = "", _("-")
        REPLY = "reply", _("Reply token")
        PUSH = "push", _("Push")
        MULTICAST = "multicast", _("Multicast")
        BROADCAST = "broadcast", _("Broadcast")
        NARROWCAST = "narrowcast", _("Narrowcast")

    class Delivery(models.TextChoices):
        RECEIVED = "received", _("Received")
        PENDING = "pending", _("Waiting to send")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    class ContentStatus(models.TextChoices):
        NONE = "", _("No content")
        PENDING = "pending", _("Downloading")
        READY = "ready", _("Archived")
        FAILED = "failed", _("Download failed")
        GONE = "gone", _("Deleted")

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="messages")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(_("direction"), max_length=8, choices=Direction.choices)
    type = models.CharField(_("type"), max_length=24)  # text, image, ..., follow, postback, note
    sender = models.CharField(_("sender"), max_length=12, choices=Sender.choices)
    sender_user_id = models.CharField(_("sender LINE user ID"), max_length=33, blank=True)  # in groups
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    campaign_id = models.BigIntegerField(null=True, blank=True)  # messaging.campaigns owns the model
    text = models.TextField(_("text"), blank=True)
    payload = models.JSONField(_("LINE payload"), default=dict, blank=True)
    line_message_id = models.CharField(_("LINE message ID"), max_length=32, blank=True)
    webhook_event = models.ForeignKey(
        WebhookEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    sent_at = models.DateTimeField(_("time"), default=timezone.now)
    via = models.CharField(_("sent with"), max_length=12, choices=Via.choices, blank=True, default="")
    delivery = models.CharField(_("delivery"), max_length=10, choices=Delivery.choices, default=Delivery.RECEIVED)
    line_request_id = models.CharField(_("LINE request ID"), max_length=64, blank=True)
    retry_key = models.UUIDField(null=True, blank=True)  # X-Line-Retry-Key of a push, chosen before sending
    error = models.TextField(_("error"), blank=True)  # in English (gettext_noop); error_text translates it
    # A send in flight holds a lease; the sweeper takes over sends whose lease ran out (a dead worker).
    locked_until = models.DateTimeField(null=True, blank=True)
    send_attempts = models.PositiveSmallIntegerField(default=0, db_default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)  # a pending send waiting to be retried
    part = models.PositiveSmallIntegerField(default=0)  # position among the messages of one send or event
    quote_token = models.CharField(max_length=256, blank=True)
    is_unsent = models.BooleanField(_("unsent"), default=False)
    edited_at = models.DateTimeField(null=True, blank=True)
    content = models.FileField(_("content"), upload_to=content_path, max_length=300, blank=True)
    content_type = models.CharField(_("content type"), max_length=100, blank=True)
    content_size = models.BigIntegerField(_("content size"), null=True, blank=True)
    content_status = models.CharField(max_length=8, choices=ContentStatus.choices, blank=True, default="")
    content_attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "line_message_id"],
                condition=~Q(line_message_id=""),
                name="message_line_id_unique_per_channel",
            ),
            # One log line per event and part (a follow writes a system line; a message its message).
            models.UniqueConstraint(
                fields=["webhook_event", "direction", "part"],
                condition=Q(webhook_event__isnull=False),
                name="message_once_per_event",
            ),
            # A campaign's messages appear once in each recipient's thread, however often the log is written.
            models.UniqueConstraint(
                fields=["campaign_id", "conversation", "part"],
                condition=Q(campaign_id__isnull=False),
                name="message_once_per_campaign_recipient",
            ),
        ]
        indexes = [
            models.Index(fields=["conversation", "-sent_at", "-id"], name="message_thread_idx"),
            # Short searches scan the newest messages of a channel as a range (see selectors).
            models.Index(fields=["channel", "-id"], name="message_channel_recent_idx"),
            # PostgreSQL also has GIN trigram indexes on text and Friend.display_name (migration 0004).
            # The few sends not settled yet, for the sweeper (partial: a handful of rows however big the log).
            models.Index(
                fields=["delivery", "next_attempt_at"],
                condition=Q(delivery__in=["pending", "sending"]),
                name="message_unsettled_idx",
            ),
        ]
        ordering = ["-sent_at", "-id"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")

    def __str__(self) -> str:
        return f"{self.type} {self.sent_at:%Y-%m-%d %H:%M}"

    @property
    def has_media(self) -> bool:
        return self.type in ("image", "video", "audio", "file")

    @property
    def error_text(self) -> str:
        """The stored reason in the reader's language (reasons are stored as English msgids)."""
        return reason_text(self.error)

    @property
    def outcome_unknown(self) -> bool:
        """LINE never answered: the friend may or may not have the message."""
        return self.delivery == self.Delivery.FAILED and self.error in UNCONFIRMED


class AutoReplyRule(models.Model):
    """A keyword rule: when a friend's text matches, reply with one to five messages."""

    class Match(models.TextChoices):
        EXACT = "exact", _("Is exactly")
        CONTAINS = "contains", _("Contains")
        REGEX = "regex", _("Matches the regular expression")

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="auto_replies")
    name = models.CharField(_("name"), max_length=100)
    match = models.CharField(_("match"), max_length=10, choices=Match.choices, default=Match.CONTAINS)
    keyword = models.CharField(_("keyword"), max_length=300)
    messages = models.JSONField(_("messages"), default=list, help_text=_("One to five LINE message objects."))
    is_active = models.BooleanField(_("active"), default=True)
    active_from = models.DateTimeField(_("active from"), null=True, blank=True)
    active_until = models.DateTimeField(_("active until"), null=True, blank=True)
    priority = models.IntegerField(_("priority"), default=100, help_text=_("Lower numbers are tried first."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["priority", "pk"]
        verbose_name = _("auto-reply")
        verbose_name_plural = _("auto-replies")

    def __str__(self) -> str:
        return self.name


class Greeting(models.Model):
    """The message sent when someone adds the account as a friend; `{name}` becomes their display name."""

    channel = models.OneToOneField(Channel, on_delete=models.CASCADE, related_name="greeting")
    is_active = models.BooleanField(_("active"), default=True)
    messages = models.JSONField(_("messages"), default=list)
    on_unblock = models.BooleanField(_("also when unblocked"), default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("greeting")
        verbose_name_plural = _("greetings")

    def __str__(self) -> str:
        return str(pgettext_lazy("a channel's greeting message settings", "Greeting"))


class SavedReply(models.Model):
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="saved_replies")
    title = models.CharField(_("title"), max_length=100)
    text = models.TextField(_("text"), max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title"]
        verbose_name = _("saved reply")
        verbose_name_plural = _("saved replies")

    def __str__(self) -> str:
        return self.title
