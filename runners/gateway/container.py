"""The gateway's composition root: the service registry (etcd at APP_ETCD_URL, else one in memory holding
the APP_GATEWAY_UPSTREAMS), the edge rate limiter (Redis at APP_REDIS_URL, else in memory), the token codec
with the services' secret (APP_JWT_SECRET)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

from dependency_injector import containers, providers

from adapters.crypto.jwt import JwtTokenCodec
from adapters.memory.discovery import InMemoryDiscoveryStore
from adapters.memory.limits import InMemoryAttemptLimiter
from adapters.system.clock import SystemClock
from domain.discovery.model import ServiceInstance
from ports.clock import Clock
from ports.discovery import ServiceRegistry
from ports.limits import AttemptLimiter
from runners.gateway.routes import RouteTable
from runners.gateway.state import Gateway
from runners.gateway.upstreams import Upstreams
from runners.settings import Settings
from runners.web.app import ROUTES

STATIC_TTL = dt.timedelta(hours=1)  # renewed while the gateway runs (its own client holds them)


async def service_registry(settings: Settings, clock: Clock) -> AsyncIterator[ServiceRegistry]:
    if settings.etcd_url:
        from adapters.etcd.client import open_etcd
        from adapters.etcd.discovery import EtcdServiceRegistry

        async with open_etcd(settings.etcd_url) as client:
            registry = EtcdServiceRegistry(client, prefix=settings.etcd_prefix)  # where the services register
            try:
                yield registry
            finally:
                await registry.close()
        return
    store = InMemoryDiscoveryStore(clock)
    registry = store.client()
    try:
        for n, entry in enumerate(settings.gateway_upstreams):
            service, _, address = entry.partition("=")
            await registry.register(ServiceInstance(service=service.strip(), instance_id=f"static-{n}",
                                                    http=address.strip()), STATIC_TTL)
        yield registry
    finally:
        await registry.close()
        await store.aclose()


async def rate_limiter(settings: Settings) -> AsyncIterator[AttemptLimiter]:
    if settings.redis_url:
        from adapters.redis.client import open_redis
        from adapters.redis.limits import RedisAttemptLimiter

        async with open_redis(settings.redis_url) as client:
            yield RedisAttemptLimiter(client, prefix="confero:gateway:")
        return
    yield InMemoryAttemptLimiter()


class GatewayContainer(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    clock = providers.Singleton(SystemClock)
    registry = providers.Resource(service_registry, settings, clock)
    limiter = providers.Resource(rate_limiter, settings)
    tokens = providers.Singleton(JwtTokenCodec, settings.provided.jwt_secret)
    routes = providers.Singleton(RouteTable, ROUTES)
    upstreams = providers.Singleton(Upstreams, registry)
    gateway = providers.Singleton(Gateway, settings=settings, routes=routes, upstreams=upstreams, tokens=tokens,
                                  limiter=limiter, clock=clock)
