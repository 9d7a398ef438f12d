from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import (
    AutoReplyRule,
    Conversation,
    FollowEvent,
    Friend,
    Greeting,
    Group,
    Message,
    SavedReply,
    Tag,
    WebhookEvent,
)
from .webhooks import processing


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ["received_at", "channel", "type", "source_id", "status", "attempts", "last_error_short"]
    list_filter = ["status", "type", "channel", "is_redelivery"]
    search_fields = ["webhook_event_id", "source_id", "user_id"]
    readonly_fields = [f.name for f in WebhookEvent._meta.fields]
    actions = ["rerun"]
    date_hierarchy = "received_at"

    @admin.display(description=_("last error"))
    def last_error_short(self, obj):
        return obj.last_error_text[:80]

    @admin.action(description=_("Re-run the selected events"))
    def rerun(self, request, queryset):
        for event in queryset:
            processing.rerun(event)
        count = queryset.count()
        self.message_user(request, ngettext("%d event queued.", "%d events queued.", count) % count, messages.SUCCESS)

    def has_add_permission(self, request):
        return False


@admin.register(Friend)
class FriendAdmin(admin.ModelAdmin):
    list_display = [
        "user_id",
        "display_name",
        "channel",
        "is_following",
        "customer_id",
        "followed_at",
        "last_contact_at",
    ]
    list_filter = ["channel", "is_following", "language"]
    search_fields = ["user_id", "display_name", "customer_id"]
    filter_horizontal = ["tags"]


admin.site.register(Tag)
admin.site.register(FollowEvent)
admin.site.register(Group)
admin.site.register(SavedReply)
admin.site.register(Greeting)


@admin.register(AutoReplyRule)
class AutoReplyRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "channel", "match", "keyword", "is_active", "priority"]
    list_filter = ["channel", "is_active"]


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["__str__", "channel", "status", "assignee", "unread_count", "last_message_at"]
    list_filter = ["channel", "status"]
    raw_id_fields = ["friend", "group", "assignee"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["sent_at", "channel", "direction", "type", "sender", "via", "delivery"]
    list_filter = ["direction", "type", "delivery", "channel"]
    raw_id_fields = ["conversation", "webhook_event", "staff"]
    search_fields = ["line_message_id", "line_request_id"]
