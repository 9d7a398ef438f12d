from django.urls import path

from accounts.views import section

urlpatterns = [
    path("ch/<int:channel_pk>/richmenus/", section("richmenus/richmenu_list.html"), name="richmenus"),
]
