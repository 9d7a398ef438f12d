"""REST resources of the accounts app: channels."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError

from config.pagination import KeysetPagination

from . import services
from .models import Channel, TokenMode
from .permissions import Perm, can, can_connect_channels, user_role
from .selectors import channels_for


class ChannelSerializer(serializers.ModelSerializer):
    channel_secret = serializers.CharField(write_only=True, required=False, style={"input_type": "password"})
    access_token = serializers.CharField(
        write_only=True, required=False, allow_blank=True, style={"input_type": "password"}
    )
    webhook_url = serializers.CharField(read_only=True)
    role = serializers.SerializerMethodField()

    class Meta:
        model = Channel
        fields = [
            "id",
            "name",
            "channel_id",
            "channel_secret",
            "token_mode",
            "access_token",
            "time_zone",
            "api_base",
            "data_api_base",
            "bot_user_id",
            "basic_id",
            "display_name",
            "picture_url",
            "verified_at",
            "webhook_url",
            "role",
        ]
        read_only_fields = ["bot_user_id", "basic_id", "display_name", "picture_url", "verified_at"]

    def get_role(self, channel) -> str | None:
        return user_role(self.context["request"].user, channel)

    def validate(self, attrs):
        creating = self.instance is None
        if creating and not attrs.get("channel_secret"):
            raise ValidationError({"channel_secret": _("This field is required.")})
        mode = attrs.get("token_mode", getattr(self.instance, "token_mode", TokenMode.LONG_LIVED))
        token = attrs.get("access_token") or getattr(self.instance, "access_token", "")
        if mode == TokenMode.LONG_LIVED and not token:
            raise ValidationError({"access_token": _("A long-lived access token is required in this mode.")})
        if mode != TokenMode.LONG_LIVED:
            attrs["access_token"] = ""
        return attrs


class ChannelPermission(permissions.BasePermission):
    def has_permission(self, request, view):
        if view.action == "create":
            return can_connect_channels(request.user)
        return request.user.is_authenticated

    def has_object_permission(self, request, view, obj):
        if request.method in permissions.SAFE_METHODS:
            return can(request.user, obj, Perm.VIEW)
        return can(request.user, obj, Perm.MANAGE_CHANNEL)


class ChannelPagination(KeysetPagination):
    ordering = ("name", "pk")


class ChannelViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Channels the caller belongs to. Creating or changing credentials verifies them with LINE first."""

    serializer_class = ChannelSerializer
    permission_classes = [ChannelPermission]
    pagination_class = ChannelPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Channel.objects.none()
        return channels_for(self.request.user)

    def perform_create(self, serializer):
        serializer.instance = self._run(
            lambda: services.channel_create(actor=self.request.user, **serializer.validated_data)
        )

    def perform_update(self, serializer):
        channel = serializer.instance
        serializer.instance = self._run(
            lambda: services.channel_update(actor=self.request.user, channel=channel, **serializer.validated_data)
        )

    @staticmethod
    def _run(call):
        try:
            return call()
        except services.ChannelVerificationError as exc:
            raise ValidationError(exc.errors) from exc
        except PermissionDenied:
            raise
