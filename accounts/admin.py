from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db import models
from django.utils.translation import gettext_lazy as _

from .models import AuditLog, Channel, Membership, User
from .services import audit


@admin.register(User)
class StaffAdmin(UserAdmin):
    fieldsets = UserAdmin.fieldsets + ((_("Console"), {"fields": ("language", "line_user_id")}),)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    """Credentials are edited on the channel settings page, where they are verified with LINE."""

    list_display = ["name", "channel_id", "token_mode", "bot_user_id", "time_zone", "verified_at", "is_active"]
    search_fields = ["name", "channel_id", "bot_user_id", "basic_id"]
    readonly_fields = [
        "masked_secret",
        "masked_access_token",
        "bot_user_id",
        "basic_id",
        "display_name",
        "verified_at",
        "issued_token_expires_at",
        "webhook_url",
    ]
    fields = [
        "name",
        "channel_id",
        "masked_secret",
        "token_mode",
        "masked_access_token",
        "issued_token_expires_at",
        "api_base",
        "data_api_base",
        "time_zone",
        "bot_user_id",
        "basic_id",
        "display_name",
        "verified_at",
        "webhook_url",
        "is_active",
    ]
    inlines = [MembershipInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request):
        return False  # connecting a channel needs LINE verification: use the staff UI or `createchannel`

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if form.changed_data:
            changes = {name: str(form.cleaned_data.get(name)) for name in form.changed_data}
            audit(actor=request.user, action="channel.update", channel=obj, target=obj.name, changes=changes)

    def save_formset(self, request, form, formset, change):
        """Membership edits made here are audited like those made on the settings page."""
        instances = formset.save()
        for membership in formset.new_objects:
            self._audit_member(request, membership, "member.add", [None, membership.role])
        for membership, fields in formset.changed_objects:
            if "role" in fields:
                self._audit_member(request, membership, "member.role", [None, membership.role])
        for membership in formset.deleted_objects:
            self._audit_member(request, membership, "member.remove", [membership.role, None])
        return instances

    @staticmethod
    def _audit_member(request, membership, action, roles):
        audit(
            actor=request.user,
            action=action,
            channel=membership.channel,
            target=membership.user.get_username(),
            changes={"role": roles},
        )


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor", "channel", "action", "target"]
    list_filter = ["action", "channel"]
    search_fields = ["target", "actor__username"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
