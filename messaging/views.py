from django.http import Http404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.models import Channel


@csrf_exempt
@require_POST
def line_webhook(request, channel_id: str):
    if not Channel.objects.filter(channel_id=channel_id, is_active=True).exists():
        raise Http404
    raise Http404
