from django.urls import include, path

from . import inbox, settings_views, views

urlpatterns = [
    path("webhooks/line/<str:channel_id>/", views.line_webhook, name="line-webhook"),
    path("media/line-outbound/<str:name>", inbox.outbound_media, name="line-outbound-media"),
    path("ch/<int:channel_pk>/inbox/", inbox.inbox, name="inbox"),
    path("ch/<int:channel_pk>/inbox/list/", inbox.conversation_list, name="inbox-list"),
    path("ch/<int:channel_pk>/inbox/<int:pk>/", inbox.conversation_detail, name="inbox-conversation"),
    path("ch/<int:channel_pk>/inbox/<int:pk>/older/", inbox.thread_older, name="inbox-older"),
    path("ch/<int:channel_pk>/inbox/<int:pk>/poll/", inbox.thread_poll, name="inbox-poll"),
    path("ch/<int:channel_pk>/inbox/<int:pk>/reply/", inbox.reply, name="inbox-reply"),
    path("ch/<int:channel_pk>/inbox/<int:pk>/resend/<int:message_pk>/", inbox.resend, name="inbox-resend"),
    path("ch/<int:channel_pk>/inbox/<int:pk>/note/", inbox.add_note, name="inbox-note"),
    path("ch/<int:channel_pk>/inbox/<int:pk>/assign/", inbox.assign, name="inbox-assign"),
    path("ch/<int:channel_pk>/inbox/<int:pk>/status/", inbox.set_status, name="inbox-status"),
    path("ch/<int:channel_pk>/inbox/<int:pk>/tags/", inbox.tags, name="inbox-tags"),
    path("ch/<int:channel_pk>/inbox/media/<int:message_pk>/", inbox.media, name="inbox-media"),
    path("ch/<int:channel_pk>/inbox/auto-replies/", settings_views.auto_replies, name="inbox-auto-replies"),
    path("ch/<int:channel_pk>/inbox/auto-replies/new/", settings_views.auto_reply_edit, name="inbox-auto-reply-new"),
    path("ch/<int:channel_pk>/inbox/auto-replies/<int:pk>/", settings_views.auto_reply_edit, name="inbox-auto-reply"),
    path(
        "ch/<int:channel_pk>/inbox/auto-replies/<int:pk>/delete/",
        settings_views.auto_reply_delete,
        name="inbox-auto-reply-delete",
    ),
    path("ch/<int:channel_pk>/inbox/greeting/", settings_views.greeting, name="inbox-greeting"),
    path("ch/<int:channel_pk>/inbox/saved-replies/", settings_views.saved_replies, name="inbox-saved-replies"),
    path("ch/<int:channel_pk>/inbox/saved-replies/new/", settings_views.saved_reply_edit, name="inbox-saved-reply-new"),
    path(
        "ch/<int:channel_pk>/inbox/saved-replies/<int:pk>/", settings_views.saved_reply_edit, name="inbox-saved-reply"
    ),
    path(
        "ch/<int:channel_pk>/inbox/saved-replies/<int:pk>/delete/",
        settings_views.saved_reply_delete,
        name="inbox-saved-reply-delete",
    ),
    # Campaigns (the list page keeps the URL name `campaigns`).
    path("", include("messaging.campaigns.urls")),
]
