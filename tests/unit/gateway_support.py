"""Shared builders for the gateway tests: the gateway on a memory registry, real aiohttp upstreams on
127.0.0.1 registered in that registry, and a client session.

Import the fixtures explicitly: ``from tests.unit.gateway_support import mesh  # noqa: F401``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.crypto.jwt import JwtTokenCodec
from adapters.memory.discovery import InMemoryDiscoveryStore
from adapters.memory.limits import InMemoryAttemptLimiter
from adapters.system.clock import SystemClock
from domain.discovery.model import ServiceInstance
from domain.shared.ids import UserId
from domain.users.model import Role
from domain.users.tokens import AccessClaims
from ports.discovery import ServiceRegistry
from ports.limits import AttemptLimiter
from runners.gateway.app import create_gateway_app
from runners.gateway.routes import RouteTable
from runners.gateway.state import Gateway
from runners.gateway.upstreams import Upstreams
from runners.settings import Settings
from runners.web.app import ROUTES

SECRET = "gateway-test-secret-that-is-long-enough-0123456789"
TTL = dt.timedelta(seconds=30)


def gateway_settings(**env: str) -> Settings:
    return Settings.from_env({"APP_JWT_SECRET": SECRET, "APP_LOG_FORMAT": "text", **env})


def access_token(user: str = "u-1", secret: str = SECRET) -> str:
    now = dt.datetime.now(dt.timezone.utc)
    return JwtTokenCodec(secret).encode_access(AccessClaims(
        user_id=UserId(user), role=Role.USER, session_id="s-1", token_id=f"t-{user}", issued_at=now,
        expires_at=now + dt.timedelta(minutes=5)))


class Mesh:
    """A registry, the gateway in front of it, and the upstreams a test starts."""

    def __init__(self, store: InMemoryDiscoveryStore) -> None:
        self.store = store
        self.services: ServiceRegistry = store.client()  # the upstreams' registrations (a test may swap it)
        self.gateway: Gateway | None = None
        self.server: TestServer | None = None
        self.session = aiohttp.ClientSession()
        self.upstreams: dict[str, TestServer] = {}

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.port}"

    async def start_gateway(self, *, registry: ServiceRegistry | None = None, limiter: AttemptLimiter | None = None,
                            **env: str) -> Gateway:
        """The gateway on the memory registry and limiter, unless others are given (etcd, Redis)."""
        self.gateway = Gateway(settings=gateway_settings(**env), routes=RouteTable(ROUTES),
                               upstreams=Upstreams(registry or self.store.client()), tokens=JwtTokenCodec(SECRET),
                               limiter=limiter or InMemoryAttemptLimiter(), clock=SystemClock())
        self.server = TestServer(create_gateway_app(self.gateway), host="127.0.0.1")
        await self.server.start_server()
        return self.gateway

    async def start(self, service: str, instance_id: str, app: web.Application, **kw: Any) -> TestServer:
        """Serves ``app`` on a free port and registers it as ``service``/``instance_id``."""
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        self.upstreams[instance_id] = server
        await self.register(service, instance_id, f"127.0.0.1:{server.port}", **kw)
        return server

    async def register(self, service: str, instance_id: str, http: str, **kw: Any) -> None:
        await self.services.register(ServiceInstance(service=service, instance_id=instance_id, http=http, **kw), TTL)
        await self.seen(service, lambda ids: instance_id in ids)

    async def seen(self, service: str, condition: Any) -> None:
        """Waits until the gateway's view of ``service`` satisfies ``condition(instance ids)``."""
        assert self.gateway is not None
        view = self.gateway.upstreams.views[service]
        async with asyncio.timeout(5):
            await view.wait_for(lambda snap: condition({i.instance_id for i in snap.instances}))

    async def kill(self, instance_id: str) -> None:
        """Stops the upstream's server; its registration stays (a process that died within its TTL)."""
        await self.upstreams.pop(instance_id).close()

    async def close(self) -> None:
        await self.session.close()
        for server in self.upstreams.values():
            await server.close()
        if self.server is not None:
            await self.server.close()
        await self.services.close()  # type: ignore[attr-defined]
        await self.store.aclose()


@pytest.fixture
async def mesh() -> AsyncIterator[Mesh]:
    m = Mesh(InMemoryDiscoveryStore(SystemClock()))
    try:
        yield m
    finally:
        await m.close()
