"""REST: create, schedule, cancel and read campaigns (/api/v1/campaigns/)."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from accounts.models import Channel
from accounts.permissions import Perm, can
from accounts.selectors import channels_for

from . import selectors, services
from .models import AudienceKind, Campaign
from .validation import CampaignInvalid


class CampaignSerializer(serializers.ModelSerializer):
    channel = serializers.PrimaryKeyRelatedField(queryset=Channel.objects.filter(is_active=True))
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = ["id", "channel", "name", "state", "messages", "audience_kind", "audience", "personalize",
                  "notification_disabled", "scheduled_at", "estimated_reach", "delivery", "started_at",
                  "finished_at", "recipients_count", "accepted_count", "failed_count", "pause_reason",
                  "line_request_id", "created_at", "progress"]
        read_only_fields = ["state", "scheduled_at", "estimated_reach", "delivery", "started_at", "finished_at",
                            "recipients_count", "accepted_count", "failed_count", "pause_reason",
                            "line_request_id", "created_at"]

    def get_progress(self, campaign) -> dict:
        p = selectors.campaign_progress(campaign)
        return {"recipients": p.recipients, "accepted": p.accepted, "pending": p.pending, "failed": p.failed}


class ScheduleSerializer(serializers.Serializer):
    scheduled_at = serializers.DateTimeField(required=False, allow_null=True,
                                             help_text=_("Omit to send now. Naive times are in UTC."))
    override_quota = serializers.BooleanField(default=False)


def _raise(exc: CampaignInvalid):
    raise ValidationError(exc.errors) from exc


class CampaignViewSet(mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                      viewsets.GenericViewSet):
    """Campaigns of the channels the caller belongs to. Creating makes a draft; `schedule` sends it."""

    serializer_class = CampaignSerializer
    ordering = "-created_at"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Campaign.objects.none()
        qs = Campaign.objects.filter(channel__in=channels_for(self.request.user))
        if channel := self.request.query_params.get("channel"):
            qs = qs.filter(channel_id=channel)
        return qs

    def _require(self, channel, perm):
        if not can(self.request.user, channel, perm):
            raise PermissionDenied

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        channel = data.pop("channel")
        self._require(channel, Perm.COMPOSE_CAMPAIGNS)
        if data.get("audience_kind") == AudienceKind.LIST:
            from .audiences import parse_user_id_list

            parsed = parse_user_id_list("\n".join((data.get("audience") or {}).get("user_ids") or []))
            data["audience"] = {"user_ids": parsed.user_ids, "bad_rows": parsed.bad_rows[:200]}
        try:
            serializer.instance = services.campaign_create(channel=channel, actor=self.request.user, **data)
        except CampaignInvalid as exc:
            _raise(exc)

    @action(detail=True, methods=["post"], serializer_class=ScheduleSerializer)
    def schedule(self, request, pk=None):
        campaign = self.get_object()
        self._require(campaign.channel, Perm.COMPOSE_CAMPAIGNS)
        body = ScheduleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            with transaction.atomic():
                campaign = services.campaign_schedule(campaign=campaign, actor=request.user,
                                                      when=body.validated_data.get("scheduled_at"),
                                                      override_quota=body.validated_data["override_quota"])
        except CampaignInvalid as exc:
            _raise(exc)
        return Response(CampaignSerializer(campaign, context={"request": request}).data)

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        campaign = self.get_object()
        self._require(campaign.channel, Perm.COMPOSE_CAMPAIGNS)
        try:
            campaign = services.campaign_cancel(campaign=campaign, actor=request.user)
        except CampaignInvalid as exc:
            raise ValidationError(exc.errors) from exc
        return Response(CampaignSerializer(campaign, context={"request": request}).data, status=status.HTTP_200_OK)
