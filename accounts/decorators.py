from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils import timezone

from .models import Channel
from .permissions import Perm, role_allows, user_role


def channel_view(perm: Perm = Perm.VIEW):
    """For views under /ch/<channel_pk>/: load the channel, refuse (403) without the role's permission,
    and show times in the channel's time zone."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(request, channel_pk: int, *args, **kwargs):
            channel = get_object_or_404(Channel, pk=channel_pk, is_active=True)
            role = user_role(request.user, channel)
            if not role_allows(role, perm):
                request.channel = channel if role else None
                raise PermissionDenied
            request.channel = channel
            request.channel_role = role
            timezone.activate(channel.tz)
            return view(request, channel, *args, **kwargs)

        return wrapper

    return decorator
