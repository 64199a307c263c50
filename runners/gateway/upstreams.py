"""The upstream instances of every service, followed in the registry, and the choice of one per request.

Choice: among the live, non-draining instances (domain.discovery.placement.candidates), the one with the
fewest requests in flight through this gateway, turns taken among equals; an instance that refused a
connection is passed over for ``eject_seconds`` unless nothing else is left.  A service with no instance
falls back to the all-in-one.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from domain.discovery.errors import NoInstanceAvailable
from domain.discovery.model import ServiceInstance
from domain.discovery.placement import candidates
from domain.discovery.service import ServiceView
from ports.discovery import ServiceRegistry
from runners.gateway.routes import ALLINONE, SERVICES


def _key(instance: ServiceInstance) -> tuple[str, str]:
    return instance.service, instance.instance_id


class Upstreams:
    def __init__(self, registry: ServiceRegistry, services: Iterable[str] = SERVICES, *,
                 eject_seconds: float = 5.0) -> None:
        self.registry = registry
        self.views = {s: ServiceView(registry, s) for s in services}
        self.eject_seconds = eject_seconds
        self._in_flight: dict[tuple[str, str], int] = {}
        self._ejected: dict[tuple[str, str], float] = {}
        self._turn = itertools.count()

    @asynccontextmanager
    async def following(self) -> AsyncIterator[Upstreams]:
        """Follows every service's instances while the block runs."""
        tasks = [asyncio.create_task(v.follow(), name=f"gateway-follow-{s}") for s, v in self.views.items()]
        try:
            yield self
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def ready(self) -> bool:
        """Every view has had its first snapshot from the registry."""
        return all(v.snapshot is not None for v in self.views.values())

    def choose(self, service: str, exclude: set[tuple[str, str]] = frozenset()) -> ServiceInstance:  # type: ignore[assignment]
        """An instance of ``service`` (else of the all-in-one) that has an HTTP address and is not in
        ``exclude``; raises NoInstanceAvailable."""
        for name in (service, ALLINONE) if service != ALLINONE else (ALLINONE,):
            view = self.views.get(name)
            ready = [i for i in candidates(view.instances()) if i.http and _key(i) not in exclude] if view else []
            if ready:
                return self._least_busy(ready)
        raise NoInstanceAvailable(f"no instance of {service} can take the request", service=service)

    def _least_busy(self, ready: list[ServiceInstance]) -> ServiceInstance:
        now = time.monotonic()
        healthy = [i for i in ready if self._ejected.get(_key(i), 0.0) <= now] or ready
        turn = next(self._turn)
        n = len(healthy)
        return min((healthy[(turn + k) % n] for k in range(n)), key=lambda i: self._in_flight.get(_key(i), 0))

    def failed(self, instance: ServiceInstance) -> None:
        """The instance refused a connection: pass it over for a while."""
        now = time.monotonic()
        if len(self._ejected) >= 256:  # instance ids are per process start: forget the ones long gone
            self._ejected = {k: until for k, until in self._ejected.items() if until > now}
        self._ejected[_key(instance)] = now + self.eject_seconds

    @asynccontextmanager
    async def using(self, instance: ServiceInstance) -> AsyncIterator[None]:
        key = _key(instance)
        self._in_flight[key] = self._in_flight.get(key, 0) + 1
        try:
            yield
        finally:
            left = self._in_flight[key] - 1
            if left:
                self._in_flight[key] = left
            else:
                del self._in_flight[key]
