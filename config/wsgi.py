"""WSGI entry point: LINE's webhook POSTs go straight to the intake, everything else to Django's handler.

A webhook is a signed server-to-server POST that needs none of the site's request handling (sessions,
authentication, the staff context, CSRF, locale, URL resolution over the whole site): the POSTs that
messaging.webhooks.wsgi recognises are answered by it, which runs the same intake as the Django view
(messaging.views.line_webhook, still what runserver and the test client reach) at a sixth of the CPU.
Anything else, other methods and paths under the prefix included, is the full site's.

Run it threaded (gunicorn's gthread workers, config/gunicorn.conf.py): the POSTs of one process that wait
on the database at the same time then share one insert and one commit (intake.GroupCommit).
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
site = get_wsgi_application()

from messaging.webhooks import wsgi as webhooks  # noqa: E402 (after django.setup())

WEBHOOK_PREFIX = webhooks.PREFIX


def application(environ, start_response):
    if environ.get("PATH_INFO", "").startswith(WEBHOOK_PREFIX):
        channel_id = webhooks.channel_id_of(environ)
        if channel_id is not None:
            return webhooks.application(environ, start_response, channel_id)
    return site(environ, start_response)
