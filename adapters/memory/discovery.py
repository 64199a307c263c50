"""The service registry in process memory: ``InMemoryDiscoveryStore`` plays the etcd server (one per
simulated cluster) and each ``InMemoryServiceRegistry`` is one process's client of it.

Leases count on the injected Clock.  A client that is open renews its leases continuously (its
process is this one, so its keepalive cannot fail); ``crash()`` simulates the process dying: its
instances stay until ``ttl`` after that moment and are then removed by the store's reaper, which
checks the clock every ``reap_interval`` seconds (and on every call), so a FrozenClock moved forward
is noticed without waiting.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from attrs import define

from domain.discovery.errors import InstanceAlreadyRegistered, InstanceNotRegistered, InvalidInstance
from domain.discovery.model import ServiceInstance, ServiceSnapshot, is_valid_name
from ports.clock import Clock

Key = tuple[str, str]


@define
class _Record:
    instance: ServiceInstance
    owner: InMemoryServiceRegistry
    ttl: dt.timedelta
    deadline: dt.datetime | None = None  # None: the owner is alive and keeps the lease


def _check_service(service: str) -> None:
    if not is_valid_name(service):
        raise InvalidInstance("service must be 1-64 of [A-Za-z0-9._-]", value=str(service)[:80])


def _check_ttl(ttl: dt.timedelta) -> None:
    if not isinstance(ttl, dt.timedelta) or ttl <= dt.timedelta(0):
        raise InvalidInstance("ttl must be a positive duration")


class InMemoryDiscoveryStore:
    def __init__(self, clock: Clock, *, reap_interval: float = 0.05) -> None:
        self._clock = clock
        self._reap_interval = reap_interval
        self._records: dict[Key, _Record] = {}
        self._revision = 0
        self._watchers: dict[str, set[asyncio.Queue[ServiceSnapshot]]] = {}
        self._reaper: asyncio.Task[None] | None = None

    def client(self) -> InMemoryServiceRegistry:
        return InMemoryServiceRegistry(self)

    async def aclose(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            try:
                await self._reaper
            except asyncio.CancelledError:
                pass
            self._reaper = None

    # -- used by the clients -------------------------------------------------------------------

    def snapshot(self, service: str) -> ServiceSnapshot:
        self.expire()
        found = sorted((r.instance for (s, _), r in self._records.items() if s == service),
                       key=lambda i: i.instance_id)
        return ServiceSnapshot(service, tuple(found), self._revision)

    def live(self, key: Key) -> _Record | None:
        self.expire()
        return self._records.get(key)

    def put(self, record: _Record) -> None:
        key = (record.instance.service, record.instance.instance_id)
        old = self._records.get(key)
        self._records[key] = record
        if old is None or old.instance != record.instance:
            self._changed(record.instance.service)

    def delete(self, key: Key) -> None:
        if self._records.pop(key, None) is not None:
            self._changed(key[0])

    def orphan(self, owner: InMemoryServiceRegistry) -> None:
        now = self._clock.now()
        for record in self._records.values():
            if record.owner is owner and record.deadline is None:
                record.deadline = now + record.ttl
        self._start_reaper()

    def subscribe(self, service: str) -> asyncio.Queue[ServiceSnapshot]:
        queue: asyncio.Queue[ServiceSnapshot] = asyncio.Queue()
        queue.put_nowait(self.snapshot(service))
        self._watchers.setdefault(service, set()).add(queue)
        return queue

    def unsubscribe(self, service: str, queue: asyncio.Queue[ServiceSnapshot]) -> None:
        self._watchers.get(service, set()).discard(queue)

    def expire(self) -> None:
        now = self._clock.now()
        dead = [k for k, r in self._records.items() if r.deadline is not None and r.deadline <= now]
        for key in dead:
            self.delete(key)

    # -- internals -------------------------------------------------------------------------------

    def _changed(self, service: str) -> None:
        self._revision += 1
        watchers = self._watchers.get(service)
        if watchers:
            snap = ServiceSnapshot(service, tuple(sorted(
                (r.instance for (s, _), r in self._records.items() if s == service),
                key=lambda i: i.instance_id)), self._revision)
            for queue in watchers:
                queue.put_nowait(snap)

    def _start_reaper(self) -> None:
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.get_running_loop().create_task(self._reap())

    async def _reap(self) -> None:
        while any(r.deadline is not None for r in self._records.values()):
            await asyncio.sleep(self._reap_interval)
            self.expire()


class _Snapshots:
    """The iterator a watch yields: snapshots from the store's queue, skipping repeats."""

    def __init__(self, queue: asyncio.Queue[ServiceSnapshot]) -> None:
        self._queue = queue
        self._last: tuple[ServiceInstance, ...] | None = None

    def __aiter__(self) -> _Snapshots:
        return self

    async def __anext__(self) -> ServiceSnapshot:
        while True:
            snap = await self._queue.get()
            if snap.instances != self._last:
                self._last = snap.instances
                return snap


class InMemoryServiceRegistry:
    def __init__(self, store: InMemoryDiscoveryStore) -> None:
        self._store = store
        self._own: dict[Key, dt.timedelta] = {}
        self._crashed = False

    async def register(self, instance: ServiceInstance, ttl: dt.timedelta) -> None:
        _check_ttl(ttl)
        key = (instance.service, instance.instance_id)
        if self._store.live(key) is not None:
            raise InstanceAlreadyRegistered(service=instance.service, instance_id=instance.instance_id)
        self._store.put(_Record(instance, self, ttl))
        self._own[key] = ttl

    async def update(self, instance: ServiceInstance) -> None:
        key = (instance.service, instance.instance_id)
        ttl = self._own.get(key)
        if ttl is None or self._crashed:
            raise InstanceNotRegistered(service=instance.service, instance_id=instance.instance_id)
        self._store.put(_Record(instance, self, ttl))

    async def deregister(self, service: str, instance_id: str) -> None:
        key = (service, instance_id)
        if self._own.pop(key, None) is not None:
            record = self._store.live(key)
            if record is not None and record.owner is self:
                self._store.delete(key)

    async def instances(self, service: str) -> list[ServiceInstance]:
        _check_service(service)
        return list(self._store.snapshot(service).instances)

    @asynccontextmanager
    async def watch(self, service: str) -> AsyncIterator[AsyncIterator[ServiceSnapshot]]:
        _check_service(service)
        queue = self._store.subscribe(service)
        try:
            yield _Snapshots(queue)
        finally:
            self._store.unsubscribe(service, queue)

    async def close(self) -> None:
        """A clean shutdown: every instance this client registered goes at once."""
        for service, instance_id in list(self._own):
            await self.deregister(service, instance_id)

    def crash(self) -> None:
        """The process died: nothing renews its leases any more (they run out after their TTL)."""
        self._crashed = True
        self._own.clear()
        self._store.orphan(self)
