"""WSGI entry point: LINE's webhooks take a lean Django handler, everything else the full one.

A webhook is a signed server-to-server POST: sessions, authentication, the staff context, messages,
locale, CSRF (the view is exempt), htmx, clickjacking headers and static files do work on every POST that
it never needs, and about half of a webhook's CPU went there (bench/README.md). Requests under
WEBHOOK_PREFIX therefore go through a Django handler built with only the middleware in WEBHOOK_MIDDLEWARE
(when settings.MIDDLEWARE has it), resolved against this module's urlpatterns, which hold the webhook
route and nothing else: no staff page can be reached through it. Request signals (database connection
upkeep), error handling and the view are Django's own, the same as through config.urls.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
site = get_wsgi_application()

from django.conf import settings  # noqa: E402 (after django.setup())
from django.core.handlers.exception import convert_exception_to_response  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.urls import path  # noqa: E402
from django.utils.module_loading import import_string  # noqa: E402

from messaging.views import line_webhook  # noqa: E402

WEBHOOK_PREFIX = "/webhooks/line/"
# The URL conf of the lean handler: the same route, view and name as in messaging/urls.py.
urlpatterns = [path(WEBHOOK_PREFIX.lstrip("/") + "<str:channel_id>/", line_webhook, name="line-webhook")]
# SecurityMiddleware keeps SECURE_SSL_REDIRECT and its headers the same as on every other page.
WEBHOOK_MIDDLEWARE = ("django.middleware.security.SecurityMiddleware",)


class WebhookHandler(WSGIHandler):
    """Django's WSGI handler with the middleware of settings.MIDDLEWARE that webhooks need, in order."""

    def load_middleware(self, is_async=False):
        # The chain BaseHandler.load_middleware builds, restricted to simple synchronous middleware without
        # view, template-response or exception hooks (all that WEBHOOK_MIDDLEWARE lists).
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        handler = convert_exception_to_response(self._get_response)
        for dotted in reversed([p for p in settings.MIDDLEWARE if p in WEBHOOK_MIDDLEWARE]):
            handler = convert_exception_to_response(import_string(dotted)(handler))
        self._middleware_chain = handler

    def get_response(self, request):
        request.urlconf = __name__  # resolve against urlpatterns above, not the whole site
        return super().get_response(request)


webhooks = WebhookHandler()


def application(environ, start_response):
    if environ.get("PATH_INFO", "").startswith(WEBHOOK_PREFIX):
        return webhooks(environ, start_response)
    return site(environ, start_response)
