"""What the gateway's handlers share: its settings, routes, upstreams, token codec, limiter and HTTP client."""

from __future__ import annotations

import datetime as dt

import aiohttp
from aiohttp import web
import attrs
from attrs import define

from adapters.metrics.instruments import GATEWAY_TOKEN_CACHE
from ports.clock import Clock
from ports.limits import AttemptLimiter
from ports.users import TokenCodec
from runners.gateway.routes import RouteTable
from runners.gateway.upstreams import Upstreams
from runners.settings import Settings

VERIFIED_TOKENS = 10_000


@define
class Gateway:
    settings: Settings
    routes: RouteTable
    upstreams: Upstreams
    tokens: TokenCodec
    limiter: AttemptLimiter
    clock: Clock
    session: aiohttp.ClientSession = None  # type: ignore[assignment]  # opened by the app (cleanup_ctx)
    # Tokens already verified, until they expire: a signature check per request was a fifth of the
    # gateway's time.  Bounded: emptied when full (a flood of distinct tokens only costs the checks).
    _verified: dict[str, tuple[str, dt.datetime]] = attrs.Factory(dict)
    sockets: set[web.WebSocketResponse] = attrs.Factory(set)  # relayed client sockets, told to go at shutdown

    def token_user(self, token: str) -> str:
        """The user id of a valid access token; raises InvalidToken (bad signature, expired, malformed)."""
        now = self.clock.now()
        known = self._verified.get(token)
        if known is not None and known[1] > now:
            GATEWAY_TOKEN_CACHE.labels("hit").inc()
            return known[0]
        GATEWAY_TOKEN_CACHE.labels("miss").inc()
        claims = self.tokens.decode_access(token, now)
        if len(self._verified) >= VERIFIED_TOKENS:
            self._verified.clear()
        self._verified[token] = (claims.user_id, claims.expires_at)
        return claims.user_id

    def client_session(self) -> aiohttp.ClientSession:
        """One pooled client for every upstream: a connect bound, and each read of an answer bounded."""
        timeout = aiohttp.ClientTimeout(total=None, connect=self.settings.gateway_connect_timeout,
                                        sock_read=self.settings.gateway_timeout)
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, keepalive_timeout=30, enable_cleanup_closed=True)
        return aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False,
                                     skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
                                     cookie_jar=aiohttp.DummyCookieJar())


GATEWAY = web.AppKey("gateway", Gateway)
