"""The LINE webhook endpoint. Staff pages of the inbox live in messaging.inbox."""

from __future__ import annotations

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .webhooks import intake


@csrf_exempt
@require_POST
def line_webhook(request, channel_id: str):
    """Verify, store raw, answer 200. LINE gives up after 2 s, so nothing else happens here.

    In production config.wsgi hands these POSTs to messaging.webhooks.wsgi, which runs the same intake
    without Django's request handling; this view serves them under runserver and the test client.
    """
    try:
        intake.receive(
            channel_id,
            request.META.get("CONTENT_LENGTH"),
            lambda length: request.body,  # Django reads to the Content-Length itself
            request.META.get("HTTP_X_LINE_SIGNATURE"),
            concurrent=bool(request.META.get("wsgi.multithread")),
        )
    except intake.Rejected as exc:
        return JsonResponse({"message": str(exc.reason)}, status=exc.status)
    return HttpResponse(b"{}", content_type="application/json")
