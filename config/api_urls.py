"""Every REST resource under /api/v1/, one router for all apps."""

from rest_framework.routers import DefaultRouter

from accounts.api import ChannelViewSet

router = DefaultRouter()
router.register("channels", ChannelViewSet, basename="channel")

urlpatterns = router.urls
