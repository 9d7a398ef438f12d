from django.urls import path
from django.views.i18n import JavaScriptCatalog

from . import views

P = "ch/<int:channel_pk>/campaigns/"

urlpatterns = [
    path(P, views.campaign_list, name="campaigns"),
    path(P + "new/", views.campaign_compose, name="campaign-create"),
    path(P + "preview/", views.campaign_preview, name="campaign-preview"),
    path(P + "reach/", views.campaign_reach, name="campaign-reach"),
    path(P + "test/", views.campaign_send_test, name="campaign-test"),
    path(P + "media/", views.campaign_media_upload, name="campaign-media"),
    path(P + "templates/", views.template_list, name="campaign-templates"),
    path(P + "segments/", views.segment_list, name="campaign-segments"),
    path(P + "dashboard/", views.campaign_dashboard, name="campaign-dashboard"),
    path(P + "dashboard/quota/", views.campaign_dashboard_quota, name="campaign-dashboard-quota"),
    path(P + "settings/", views.campaign_settings, name="campaign-settings"),
    path(P + "<int:pk>/", views.campaign_detail, name="campaign-detail"),
    path(P + "<int:pk>/edit/", views.campaign_compose, name="campaign-edit"),
    path(P + "<int:pk>/progress/", views.campaign_progress, name="campaign-progress"),
    path(P + "<int:pk>/<str:action>/", views.campaign_action, name="campaign-action"),
    path("campaigns/jsi18n/", JavaScriptCatalog.as_view(packages=["messaging.campaigns"]), name="campaigns-jsi18n"),
    path("campaign-media/<path:name>", views.campaign_media_file, name="campaign-media-file"),
]
