"""REST resources of messaging: friends, conversations with their messages, and webhook events."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from accounts.permissions import Perm, can
from accounts.selectors import channels_for
from accounts.services import line_client
from config.pagination import KeysetPagination

from . import selectors, sending, services
from .models import Conversation, Friend, Message, WebhookEvent
from .reasons import reason_text
from .webhooks import processing


class FriendSerializer(serializers.ModelSerializer):
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")

    class Meta:
        model = Friend
        fields = [
            "id",
            "channel",
            "user_id",
            "display_name",
            "picture_url",
            "status_message",
            "language",
            "is_following",
            "followed_at",
            "blocked_at",
            "unblocked_at",
            "first_contact_at",
            "last_contact_at",
            "tags",
            "notes",
            "customer_id",
            "linked_at",
            "profile_fetched_at",
            "created_at",
        ]
        read_only_fields = fields


class TagChangeSerializer(serializers.Serializer):
    add = serializers.ListField(child=serializers.CharField(max_length=50), required=False, default=list)
    remove = serializers.ListField(child=serializers.CharField(max_length=50), required=False, default=list)


class ConversationSerializer(serializers.ModelSerializer):
    friend = FriendSerializer(read_only=True)
    assignee = serializers.SlugRelatedField(read_only=True, slug_field="username")

    class Meta:
        model = Conversation
        fields = [
            "id",
            "channel",
            "source_type",
            "source_id",
            "friend",
            "status",
            "assignee",
            "unread_count",
            "last_message_at",
            "last_message_preview",
            "last_message_type",
        ]
        read_only_fields = fields


class MessageSerializer(serializers.ModelSerializer):
    staff = serializers.SlugRelatedField(read_only=True, slug_field="username")

    class Meta:
        model = Message
        fields = [
            "id",
            "conversation",
            "direction",
            "type",
            "sender",
            "sender_user_id",
            "staff",
            "text",
            "payload",
            "line_message_id",
            "sent_at",
            "via",
            "delivery",
            "line_request_id",
            "error",
            "is_unsent",
            "edited_at",
            "content_type",
            "content_size",
            "content_status",
        ]
        read_only_fields = fields


class SendSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=5000, required=False)
    messages = serializers.ListField(child=serializers.DictField(), required=False, max_length=5)

    def validate(self, attrs):
        messages = list(attrs.get("messages") or [])
        if attrs.get("text"):
            messages.insert(0, {"type": "text", "text": attrs["text"]})
        if not 1 <= len(messages) <= 5:
            raise serializers.ValidationError(_("Send one to five messages (text or LINE message objects)."))
        attrs["messages"] = messages
        return attrs


class WebhookEventSerializer(serializers.ModelSerializer):
    last_error = serializers.CharField(source="last_error_text", read_only=True)

    class Meta:
        model = WebhookEvent
        fields = [
            "id",
            "channel",
            "webhook_event_id",
            "type",
            "mode",
            "source_type",
            "source_id",
            "user_id",
            "timestamp",
            "payload",
            "is_redelivery",
            "status",
            "attempts",
            "last_error",
            "next_attempt_at",
            "processed_at",
            "received_at",
        ]
        read_only_fields = fields


def _channel_filtered(request, qs):
    qs = qs.filter(channel__in=channels_for(request.user))
    channel = request.query_params.get("channel")
    if channel and channel.isdigit():
        qs = qs.filter(channel_id=int(channel))
    return qs


def _require(request, obj_channel, perm):
    if not can(request.user, obj_channel, perm):
        raise PermissionDenied


class NewestFirst(KeysetPagination):
    ordering = "-pk"


class FriendViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Friends of the channels you belong to. Filters: channel, following (true/false), tag, q (name)."""

    serializer_class = FriendSerializer
    pagination_class = NewestFirst

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Friend.objects.none()
        qs = _channel_filtered(self.request, Friend.objects.prefetch_related("tags"))
        p = self.request.query_params
        if p.get("following") in ("true", "false"):
            qs = qs.filter(is_following=p["following"] == "true")
        if p.get("tag"):
            qs = qs.filter(tags__name=p["tag"])
        if p.get("q"):
            qs = qs.filter(display_name__icontains=p["q"])
        if p.get("linked") in ("true", "false"):
            qs = qs.exclude(customer_id="") if p["linked"] == "true" else qs.filter(customer_id="")
        return qs

    @extend_schema(request=TagChangeSerializer, responses=FriendSerializer)
    @action(detail=True, methods=["post"])
    def tags(self, request, pk=None):
        friend = self.get_object()
        _require(request, friend.channel, Perm.REPLY)
        change = TagChangeSerializer(data=request.data)
        change.is_valid(raise_exception=True)
        services.friend_set_tags(friend=friend, **change.validated_data)
        return Response(FriendSerializer(Friend.objects.get(pk=friend.pk)).data)


class ConversationPagination(KeysetPagination):
    ordering = ("-last_message_at", "-pk")


class MessagePagination(KeysetPagination):
    ordering = ("-sent_at", "-pk")


class ConversationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Conversations, newest activity first. Filters: channel, status, q (text contained in a message)."""

    serializer_class = ConversationSerializer
    pagination_class = ConversationPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Conversation.objects.none()
        qs = _channel_filtered(self.request, Conversation.objects.select_related("friend", "assignee"))
        p = self.request.query_params
        if p.get("status"):
            qs = qs.filter(status=p["status"])
        if p.get("q"):
            # Substring search (Chinese, Japanese, Thai); one- or two-character queries look through the
            # newest messages of your channels only (see selectors.message_search).
            messages = _channel_filtered(self.request, Message.objects.filter(is_unsent=False))
            qs = qs.filter(pk__in=selectors.message_search(messages, p["q"]).values("conversation_id"))
        return qs

    @extend_schema(request=SendSerializer, responses=MessageSerializer(many=True))
    @action(detail=True, methods=["get", "post"])
    def messages(self, request, pk=None):
        """GET: the log, newest first. POST: send (reply token while fresh, else push): 201 sent, 202 not
        confirmed yet and being retried with the same retry key, 502 if LINE refused."""
        conversation = self.get_object()
        if request.method == "GET":
            qs = Message.objects.filter(conversation=conversation).select_related("staff")
            paginator = MessagePagination()
            page = paginator.paginate_queryset(qs, request, view=self)
            return paginator.get_paginated_response(MessageSerializer(page, many=True).data)
        _require(request, conversation.channel, Perm.REPLY)
        body = SendSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        outcome = sending.send_from_inbox(
            conversation=conversation,
            messages=body.validated_data["messages"],
            staff=request.user,
            client_for=line_client,
        )
        data = {
            "via": outcome.via,
            "sent": outcome.ok,
            "retrying": outcome.retrying,
            "error": reason_text(outcome.error),
            "messages": MessageSerializer(outcome.messages, many=True).data,
        }
        # 202: LINE did not answer; the push goes again with its retry key (poll the messages for delivery).
        if outcome.ok:
            return Response(data, status=status.HTTP_201_CREATED)
        return Response(data, status=status.HTTP_202_ACCEPTED if outcome.retrying else status.HTTP_502_BAD_GATEWAY)


class WebhookEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Raw webhook events as LINE sent them. Filters: channel, status, type. Admins may re-run one."""

    serializer_class = WebhookEventSerializer
    pagination_class = NewestFirst

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookEvent.objects.none()
        qs = _channel_filtered(self.request, WebhookEvent.objects.all())
        p = self.request.query_params
        if p.get("status"):
            qs = qs.filter(status=p["status"])
        if p.get("type"):
            qs = qs.filter(type=p["type"])
        return qs

    @extend_schema(request=None, responses=WebhookEventSerializer)
    @action(detail=True, methods=["post"])
    def rerun(self, request, pk=None):
        event = self.get_object()
        _require(request, event.channel, Perm.MANAGE_CHANNEL)
        processing.rerun(event)
        return Response(
            WebhookEventSerializer(get_object_or_404(WebhookEvent, pk=event.pk)).data, status=status.HTTP_202_ACCEPTED
        )
