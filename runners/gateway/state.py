"""What the gateway's handlers share: its settings, routes, upstreams, token codec, limiter and HTTP client."""

from __future__ import annotations

import aiohttp
from aiohttp import web
from attrs import define

from ports.clock import Clock
from ports.limits import AttemptLimiter
from ports.users import TokenCodec
from runners.gateway.routes import RouteTable
from runners.gateway.upstreams import Upstreams
from runners.settings import Settings


@define
class Gateway:
    settings: Settings
    routes: RouteTable
    upstreams: Upstreams
    tokens: TokenCodec
    limiter: AttemptLimiter
    clock: Clock
    session: aiohttp.ClientSession = None  # type: ignore[assignment]  # opened by the app (cleanup_ctx)

    def client_session(self) -> aiohttp.ClientSession:
        """One pooled client for every upstream: a connect bound, and each read of an answer bounded."""
        timeout = aiohttp.ClientTimeout(total=None, connect=self.settings.gateway_connect_timeout,
                                        sock_read=self.settings.gateway_timeout)
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, keepalive_timeout=30, enable_cleanup_closed=True)
        return aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False,
                                     skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
                                     cookie_jar=aiohttp.DummyCookieJar())


GATEWAY = web.AppKey("gateway", Gateway)
