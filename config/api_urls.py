"""Every REST resource under /api/v1/, one router for all apps."""

from rest_framework.routers import DefaultRouter

from accounts.api import ChannelViewSet
from messaging.api import ConversationViewSet, FriendViewSet, WebhookEventViewSet
from messaging.campaigns.api import CampaignViewSet

router = DefaultRouter()
router.register("channels", ChannelViewSet, basename="channel")
router.register("friends", FriendViewSet, basename="friend")
router.register("conversations", ConversationViewSet, basename="conversation")
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("webhook-events", WebhookEventViewSet, basename="webhook-event")

urlpatterns = router.urls
