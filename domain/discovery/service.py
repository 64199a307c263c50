"""Using the registry from a process: keep one's own registration for a block of code, and follow the
instances of a service one calls, choosing among them with a placement policy."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from domain.discovery.errors import NoInstanceAvailable
from domain.discovery.model import ServiceInstance, ServiceSnapshot
from domain.discovery.placement import least_loaded
from domain.shared.errors import Unavailable
from ports.discovery import ServiceRegistry

log = logging.getLogger(__name__)

# least_loaded, RoundRobin().pick: (instances, *, service=...) -> the chosen instance
Policy = Callable[..., ServiceInstance]


@asynccontextmanager
async def registered(registry: ServiceRegistry, instance: ServiceInstance,
                     ttl: dt.timedelta) -> AsyncIterator[None]:
    """Registered inside the block, deregistered on the way out (if the store is away then, the
    instance goes after its TTL)."""
    await registry.register(instance, ttl)
    try:
        yield
    finally:
        try:
            await registry.deregister(instance.service, instance.instance_id)
        except Unavailable:
            log.warning("could not deregister %s/%s: it goes after its TTL", instance.service, instance.instance_id)


class ServiceView:
    """The latest instances of one service, kept by ``follow()`` (run it as a task for as long as the
    view is used) from the registry's watch, which it enters again after the store was unreachable.

    ``pick()`` chooses with ``policy`` (least loaded unless told otherwise, e.g. ``RoundRobin().pick``)
    and raises NoInstanceAvailable before the first snapshot and when every instance is draining.
    """

    def __init__(self, registry: ServiceRegistry, service: str, *, policy: Policy = least_loaded,
                 retry_delay: float = 0.5) -> None:
        self.registry = registry
        self.service = service
        self.policy = policy
        self.retry_delay = retry_delay
        self.snapshot: ServiceSnapshot | None = None
        self._changed = asyncio.Condition()

    async def follow(self) -> None:
        while True:
            try:
                async with self.registry.watch(self.service) as snapshots:
                    async for snapshot in snapshots:
                        async with self._changed:
                            self.snapshot = snapshot
                            self._changed.notify_all()
            except Unavailable:
                await asyncio.sleep(self.retry_delay)

    async def wait_for(self, condition: Callable[[ServiceSnapshot], bool]) -> ServiceSnapshot:
        """The first snapshot (current or coming) for which ``condition`` holds."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.snapshot is not None and condition(self.snapshot))
            assert self.snapshot is not None
            return self.snapshot

    def instances(self) -> tuple[ServiceInstance, ...]:
        return self.snapshot.instances if self.snapshot is not None else ()

    def pick(self) -> ServiceInstance:
        if self.snapshot is None:
            raise NoInstanceAvailable(f"no instance of {self.service} is known yet", service=self.service)
        return self.policy(self.snapshot.instances, service=self.service)
