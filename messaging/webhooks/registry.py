"""Which code handles which webhook event type.

Messaging registers its own handlers in ``MessagingConfig.ready()``; other apps (linking, rich menus)
register theirs from their own ``AppConfig.ready()`` so that messaging never imports them::

    from messaging.webhooks.registry import register
    register("accountLink", on_account_link)

A handler is ``handler(event: WebhookEvent) -> None``. All handlers of a type run, in registration
order, inside the same database transaction that marks the event done, so they must be idempotent
(a re-run after a failure or a killed worker runs them again) and must not call LINE directly:
enqueue a task with ``delay_on_commit`` instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from messaging.models import WebhookEvent

Handler = Callable[["WebhookEvent"], None]

_handlers: dict[str, list[Handler]] = {}


def register(event_type: str, handler: Handler) -> Handler:
    """Add ``handler`` for ``event_type``; registering the same function twice is a no-op."""
    handlers = _handlers.setdefault(event_type, [])
    if handler not in handlers:
        handlers.append(handler)
    return handler


def unregister(event_type: str, handler: Handler) -> None:
    if handler in _handlers.get(event_type, []):
        _handlers[event_type].remove(handler)


def handlers_for(event_type: str) -> list[Handler]:
    return list(_handlers.get(event_type, ()))


def handles(event_type: str):
    """Decorator form of :func:`register`."""

    def decorator(handler: Handler) -> Handler:
        return register(event_type, handler)

    return decorator
