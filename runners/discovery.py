"""A process in the service registry (issue 14): the composition of ports/discovery.py for runners.serve.

With ``APP_ETCD_URL`` set, every process registers itself once it listens: service name ("users",
"meetings", "signaling", "ai", "notifications", "allinone"), ``APP_INSTANCE_ID``, and where other processes
reach it (``APP_ADVERTISE_HOST`` with the HTTP port, and the gRPC port when it serves gRPC), on a lease of
``APP_REGISTRY_TTL`` seconds that the etcd adapter keeps alive (and re-creates, with a log line, when etcd
lost it).  On a graceful stop it is marked draining (balancers skip it), given ``APP_DRAIN_SECONDS`` for
the callers to notice, then deregistered before the listeners close.  A killed process disappears after
the TTL.  /ready reports etcd as a dependency ("etcd").
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import attrs

from domain.discovery.model import ServiceInstance
from domain.discovery.service import registered
from ports.discovery import ServiceRegistry
from runners.observability.registry import Observability
from runners.settings import Settings

log = logging.getLogger("runners.discovery")


def service_name(process: str) -> str:
    """The registry name of a process named in logs as ``confero-<name>`` ("confero-users" -> "users")."""
    return process.removeprefix("confero-")


@attrs.define
class Announcement:
    """This process's registration, for the shutdown to drain and withdraw."""

    registry: ServiceRegistry
    instance: ServiceInstance
    drain_seconds: float

    async def leave(self, timeout: float) -> None:
        """``drain`` then ``withdraw``, each bounded by ``timeout`` (a hung etcd cannot hold the stop)."""
        for step in (self.drain, self.withdraw):
            try:
                await asyncio.wait_for(step(), timeout + (self.drain_seconds if step == self.drain else 0))
            except TimeoutError:
                log.warning("the registry did not answer in time", extra={"step": step.__name__})

    async def drain(self) -> None:
        """Marks the instance draining (new callers go elsewhere), then gives them the pause to notice."""
        self.instance = attrs.evolve(self.instance, draining=True)
        try:
            await self.registry.update(self.instance)
            log.info("draining", extra={"service": self.instance.service, "instance_id": self.instance.instance_id,
                                        "seconds": self.drain_seconds})
        except Exception as exc:  # etcd away: skip the pause, deregistering will be tried anyway
            log.warning("could not mark this instance draining", extra={"error": type(exc).__name__})
            return
        await asyncio.sleep(self.drain_seconds)

    async def withdraw(self) -> None:
        """Deregisters now (the instance goes after its TTL when etcd cannot be reached)."""
        try:
            await self.registry.deregister(self.instance.service, self.instance.instance_id)
            log.info("deregistered", extra={"service": self.instance.service,
                                            "instance_id": self.instance.instance_id})
        except Exception as exc:  # etcd away or failing: the stop goes on, the lease runs out
            log.warning("could not deregister: the instance goes after its TTL", extra={"error": type(exc).__name__})


def instance_of(settings: Settings, service: str, http_port: int, grpc_port: int | None) -> ServiceInstance:
    host = settings.advertised_host
    return ServiceInstance(service, settings.instance_id, http=f"{host}:{http_port}",
                           grpc=f"{host}:{grpc_port}" if grpc_port else "")


@asynccontextmanager
async def etcd_registry(settings: Settings, observability: Observability) -> AsyncIterator[ServiceRegistry | None]:
    """The process's registry client (None without APP_ETCD_URL), with its readiness check."""
    if not settings.etcd_url:
        yield None
        return
    from adapters.etcd.client import open_etcd
    from adapters.etcd.discovery import EtcdServiceRegistry

    async with open_etcd(settings.etcd_url) as client:
        registry = EtcdServiceRegistry(client, prefix=settings.etcd_prefix)

        async def ready() -> None:
            await client.status()

        observability.add_check("etcd", ready)
        try:
            yield registry
        finally:
            await registry.close()


@asynccontextmanager
async def announced(registry: ServiceRegistry | None, instance: ServiceInstance,
                    settings: Settings) -> AsyncIterator[Announcement | None]:
    """``instance`` registered inside the block (nothing without a registry)."""
    if registry is None:
        yield None
        return
    async with registered(registry, instance, dt.timedelta(seconds=settings.registry_ttl)):
        log.info("registered", extra={"service": instance.service, "instance_id": instance.instance_id,
                                      "http": instance.http, "grpc": instance.grpc, "ttl": settings.registry_ttl})
        yield Announcement(registry, instance, settings.drain_seconds)
