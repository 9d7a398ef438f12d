from django.urls import path

from accounts.views import section

urlpatterns = [
    path("ch/<int:channel_pk>/linking/", section("linking/linking_overview.html"), name="linking"),
]
