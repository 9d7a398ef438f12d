"""The LINE webhook endpoint. Staff pages of the inbox live in messaging.inbox."""

from __future__ import annotations

from django.http import Http404, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.models import Channel

from .webhooks import intake


@csrf_exempt
@require_POST
def line_webhook(request, channel_id: str):
    """Verify, store raw, answer 200. LINE gives up after 2 s, so nothing else happens here."""
    channel = Channel.objects.filter(channel_id=channel_id, is_active=True).first()
    if channel is None:
        raise Http404
    try:
        intake.check_size(request.META.get("CONTENT_LENGTH"))
        body = request.body
        intake.check_signature(channel, body, request.headers.get("x-line-signature"))
        events = intake.parse(channel, body)
        intake.store(channel, events)
    except intake.Rejected as exc:
        return JsonResponse({"message": str(exc.reason)}, status=exc.status)
    return HttpResponse(b"{}", content_type="application/json")
