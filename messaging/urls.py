from django.urls import path

from accounts.views import section

from . import views

urlpatterns = [
    path("webhooks/line/<str:channel_id>/", views.line_webhook, name="line-webhook"),
    path("ch/<int:channel_pk>/inbox/", section("messaging/inbox_placeholder.html"), name="inbox"),
    path("ch/<int:channel_pk>/campaigns/", section("messaging/campaign_list.html"), name="campaigns"),
]
