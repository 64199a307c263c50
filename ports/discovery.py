from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from domain.discovery.model import ServiceInstance, ServiceSnapshot


class ServiceRegistry(Protocol):
    """Where the instances of every service find each other (etcd in production).

    A registry object is one process's client: the instances it registers live under a lease of
    ``ttl`` that the adapter keeps alive in the background for as long as the client is open.  An
    instance whose process died (nothing renews its lease) disappears, from ``instances`` and from
    every watch, at most ``ttl`` (rounded up to whole seconds by stores that count in seconds) after
    the last renewal.  If the store loses the lease (an outage longer than the TTL, a store restart that
    forgot it), the adapter registers the instance again, with its latest value, as soon as the store is
    back.  Closing the client normally (the adapter's context manager) deregisters its instances.

    - ``register(instance, ttl)`` makes the instance visible at once.  Raises InstanceAlreadyRegistered
      when a live instance with the same service and id exists (in any process): ids are unique per
      process start.
    - ``update(instance)`` replaces the registered value (a load report, ``draining``): readers see
      the new value at once.  Raises InstanceNotRegistered unless this client registered that
      service/id and has not deregistered it.
    - ``deregister(service, instance_id)`` removes this client's instance at once (watchers see it
      go); nothing happens for an instance this client does not hold.  If the store cannot be reached
      it raises Unavailable, and the instance still disappears after its TTL (nobody renews it).
    - ``instances(service)`` lists the live instances, sorted by ``instance_id``.  A draining instance
      is listed, with ``draining=True``: choosing is the balancer's business (domain.discovery.placement).
    - ``watch(service)`` is an async context manager giving an async iterator of ServiceSnapshots: first
      the current one, then one after every change, in order, each different from the one before
      and with a higher revision.  Nothing is missed across an outage or a restart of the store: the
      watch resumes from the last revision it saw and yields every change made meanwhile (where the
      store already discarded that history, it re-reads the whole set and yields it).  The iterator does
      not end on an outage; it ends when the context exits.

    Entering ``watch`` and every other method raise Unavailable when the store cannot be reached, and
    InvalidInstance for a malformed service name or id.
    """

    async def register(self, instance: ServiceInstance, ttl: dt.timedelta) -> None: ...
    async def update(self, instance: ServiceInstance) -> None: ...
    async def deregister(self, service: str, instance_id: str) -> None: ...
    async def instances(self, service: str) -> list[ServiceInstance]: ...
    def watch(self, service: str) -> AbstractAsyncContextManager[AsyncIterator[ServiceSnapshot]]: ...
