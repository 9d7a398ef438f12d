"""LINE's webhook POSTs as a plain WSGI application: the intake without Django's request handling.

A webhook is a signed server-to-server POST. Django's handler (request object, request signals, URL
resolution, middleware, response object) cost about 60 µs a POST against about 10 µs for the whole intake
(bench/README.md), so config.wsgi hands the POSTs this module recognises straight to ``application``, which
runs the same intake.receive() as the Django view (messaging.views.line_webhook) and answers the same
statuses and JSON. Everything it does not recognise (another method or path, or a plain-HTTP request while
SECURE_SSL_REDIRECT is on) goes to the full site, which redirects, answers 405 or 404 as it always does.

What Django's request handling did that still matters here is done here: the connection upkeep before a
query and after the request's reads (intake.receive(upkeep=True), which also gives a pooled connection
back), the nosniff and HSTS headers SecurityMiddleware would add, and the log of an unexpected error
(django.request's logger, as Django would log it) with a plain 500.
"""

from __future__ import annotations

import json
import logging
import re
from http import HTTPStatus

from django.conf import settings
from django.utils.translation import gettext as _

from . import intake

PREFIX = "/webhooks/line/"
_PATH = re.compile(r"/webhooks/line/([^/]+)/")
log = logging.getLogger("django.request")


def channel_id_of(environ) -> str | None:
    """The channel ID of a webhook POST this application answers; None for anything the site should."""
    if environ.get("REQUEST_METHOD") != "POST":
        return None
    match = _PATH.fullmatch(environ.get("PATH_INFO", ""))
    if match is None or (settings.SECURE_SSL_REDIRECT and not is_secure(environ)):
        return None
    return match[1]


def is_secure(environ) -> bool:
    """What HttpRequest.is_secure() answers: the proxy's header when SECURE_PROXY_SSL_HEADER names one."""
    if settings.SECURE_PROXY_SSL_HEADER:
        header, secure_value = settings.SECURE_PROXY_SSL_HEADER
        value = environ.get(header)
        if value is not None:
            return value.split(",", 1)[0].strip() == secure_value
    return environ.get("wsgi.url_scheme") == "https"


def hsts() -> str:
    """The Strict-Transport-Security value SecurityMiddleware sends with these settings."""
    value = f"max-age={settings.SECURE_HSTS_SECONDS}"
    value += "; includeSubDomains" if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS else ""
    return value + ("; preload" if settings.SECURE_HSTS_PRELOAD else "")


def application(environ, start_response, channel_id: str):
    try:
        intake.receive(
            channel_id,
            environ.get("CONTENT_LENGTH"),
            # Never past the Content-Length intake checked, as Django does; none (or a negative one) is empty.
            lambda length: environ["wsgi.input"].read(length) if length > 0 else b"",
            environ.get("HTTP_X_LINE_SIGNATURE"),
            concurrent=bool(environ.get("wsgi.multithread")),
            upkeep=True,
        )
        status, body = 200, b"{}"
    except intake.Rejected as exc:
        status, body = exc.status, json.dumps({"message": str(exc.reason)}, ensure_ascii=False).encode()
    except Exception:
        log.exception("Internal Server Error: %s", environ.get("PATH_INFO"), extra={"status_code": 500})
        status, body = 500, json.dumps({"message": _("Server error.")}, ensure_ascii=False).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    if settings.SECURE_HSTS_SECONDS and is_secure(environ):
        headers.append(("Strict-Transport-Security", hsts()))
    start_response(f"{status} {HTTPStatus(status).phrase}", headers)
    return [body]
