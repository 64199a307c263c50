"""What the gateway decides before forwarding: which service, whether the caller's token is good (for
routes that need one), and whether the caller (user and address) is within its request rate."""

from __future__ import annotations

import datetime as dt
import logging

from aiohttp import web

from domain.shared.errors import Unavailable
from adapters.metrics.instruments import GATEWAY_RATE_LIMITED
from domain.shared.limits import AttemptLimit, AttemptsExhausted
from domain.users.errors import InvalidToken
from runners.app_state import bearer_token
from runners.gateway.proxy import forward
from runners.gateway.state import GATEWAY, Gateway
from runners.gateway.websocket import forward_socket
from runners.web.context import client_address
from runners.web.errors import RequestError

log = logging.getLogger("runners.gateway")


async def handle(request: web.Request) -> web.StreamResponse:
    gateway = request.app[GATEWAY]
    route = gateway.routes.resolve(request.method, request.path)
    if route is None:
        raise RequestError(404, "not_found", "no such endpoint")
    user = None
    token = bearer_token(request)
    if not route.public or token is not None and not route.websocket:
        if token is None:
            raise InvalidToken("send 'Authorization: Bearer <access token>'")
        try:
            user = gateway.token_user(token)
        except InvalidToken:
            if not route.public:
                raise
    await _within_rate(request, gateway, user)
    if route.websocket and request.headers.get("Upgrade", "").lower() == "websocket":
        return await forward_socket(request, route.service)
    return await forward(request, route.service)


async def _within_rate(request: web.Request, gateway: Gateway, user: str | None) -> None:
    """Raises AttemptsExhausted (429 with Retry-After).  A limiter that is down lets requests through:
    the services keep their own limits on what is costly (logins, sign-ups)."""
    settings = gateway.settings
    window = dt.timedelta(seconds=settings.gateway_rate_window)
    limits = []
    if settings.gateway_rate_per_address:
        limits.append(AttemptLimit(f"gw:addr:{client_address(request)}", settings.gateway_rate_per_address,
                                   window))
    if user is not None and settings.gateway_rate_per_user:
        limits.append(AttemptLimit(f"gw:user:{user}", settings.gateway_rate_per_user, window))
    if not limits:
        return
    try:
        await gateway.limiter.reserve(limits, gateway.clock.now())
    except AttemptsExhausted:
        GATEWAY_RATE_LIMITED.inc()
        raise
    except Unavailable:
        log.warning("the rate limiter is unavailable: request let through")

