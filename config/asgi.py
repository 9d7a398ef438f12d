"""ASGI entry point: LINE's webhook POSTs go to the intake on the event loop, everything else to Django.

Served by gunicorn's uvicorn workers (config/gunicorn.conf.py, the default). A webhook POST is
answered by messaging.webhooks.asgi without a thread of its own (see there); the rest of the site runs
through Django's ASGI handler.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
site = get_asgi_application()

from messaging.webhooks import asgi as webhooks  # noqa: E402 (after django.setup())


async def application(scope, receive, send):
    if scope["type"] == "http":
        channel_id = webhooks.channel_id_of(scope)
        if channel_id is not None:
            return await webhooks.application(scope, receive, send, channel_id)
        return await site(scope, receive, send)
    if scope["type"] == "lifespan":
        return await lifespan(receive, send)
    raise ValueError(f"unsupported ASGI scope type {scope['type']!r}")


async def lifespan(receive, send):
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await webhooks.group_commit().close()  # what is waiting is written before the process ends
            await send({"type": "lifespan.shutdown.complete"})
            return
