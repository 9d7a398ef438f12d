from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("accounts/profile/", views.profile, name="profile"),
    path("language/", views.set_language, name="set-language"),
    path("channels/", views.channel_list, name="channel-list"),
    path("channels/new/", views.channel_create, name="channel-create"),
    path("ch/<int:channel_pk>/", views.channel_home, name="channel-home"),
    path("ch/<int:channel_pk>/settings/", views.channel_settings, name="channel-settings"),
    path("ch/<int:channel_pk>/settings/members/add/", views.member_add, name="member-add"),
    path("ch/<int:channel_pk>/settings/members/<int:membership_pk>/", views.member_update, name="member-update"),
    path("ch/<int:channel_pk>/settings/audit/", views.audit_log, name="audit-log"),
]
