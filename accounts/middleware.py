"""Per-request staff context: the user's own language, and the current channel's time zone."""

from __future__ import annotations

from django.utils import timezone, translation


class StaffContextMiddleware:
    """Activates the signed-in user's chosen language (overriding the browser's)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.language:
            translation.activate(user.language)
            request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        timezone.deactivate()
        return response
