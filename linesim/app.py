"""Assemble the ASGI application: LINE API routes, the /_sim/ control API, the middleware."""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from . import control, messaging, oauth, platform_api, richmenus
from .endpoint import LineMiddleware
from .errors import INTERNAL_ERROR, NOT_FOUND
from .state import Sim

log = logging.getLogger("linesim")


async def http_error(request, exc: HTTPException):
    message = NOT_FOUND if exc.status_code == 404 else exc.detail
    return JSONResponse({"message": message}, status_code=exc.status_code)


async def server_error(request, exc: Exception):
    log.exception("linesim bug while handling %s %s", request.method, request.url.path)
    return JSONResponse({"message": INTERNAL_ERROR}, status_code=500)


def create_app(*, rate_limits: bool = True, webhook_timeout: float = 10.0) -> LineMiddleware:
    """Build a fresh simulator.  The returned ASGI app exposes the state as ``.sim``."""
    sim = Sim(rate_limits=rate_limits, webhook_timeout=webhook_timeout)
    # Hot paths (push, multicast, reply) come first: Starlette tries routes in order.
    routes = messaging.routes + platform_api.routes + richmenus.routes + oauth.routes + control.routes
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error, Exception: server_error})
    app.state.sim = sim
    hot = {r.path: r.endpoint for r in messaging.routes if r.methods == {"POST"} and "{" not in r.path}
    return LineMiddleware(app, sim, hot=hot, on_error=server_error)
