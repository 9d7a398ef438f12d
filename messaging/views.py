"""The LINE webhook endpoint. Staff pages of the inbox live in messaging.inbox."""

from __future__ import annotations

from django.http import Http404, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .webhooks import intake


@csrf_exempt
@require_POST
def line_webhook(request, channel_id: str):
    """Verify, store raw, answer 200. LINE gives up after 2 s, so nothing else happens here.

    Served by config.wsgi's lean handler (no session, auth or staff middleware) in production.
    """
    channel = intake.channel_for(channel_id)  # per-process cache, no query on most POSTs
    if channel is None:
        raise Http404
    try:
        intake.check_size(request.META.get("CONTENT_LENGTH"))
        body = request.body
        channel = intake.check_signature(channel, body, request.META.get("HTTP_X_LINE_SIGNATURE"))
        events = intake.parse(channel, body)
        intake.store(channel, events, body)
    except intake.Rejected as exc:
        return JsonResponse({"message": str(exc.reason)}, status=exc.status)
    return HttpResponse(b"{}", content_type="application/json")
