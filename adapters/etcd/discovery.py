"""The service registry in etcd.

Each instance is one key, ``<prefix><service>/<instance_id>`` (prefix ``/confero/services/``), whose
value is the instance as JSON, attached to a lease of its own.  A background task per registration
renews the lease every third of its TTL; when etcd answers that the lease is gone (it expired during an
outage) the task grants a new one and writes the key again, and after any failed renewal it rewrites
the key once etcd answers, so a registration always comes back.

A watch reads the service's keys and the store revision, then follows an etcd watch from the next
revision.  When the watch stream dies (etcd restarted, the connection dropped) it is re-created from
the last revision seen + 1, so etcd replays every change made meanwhile; only when that history was
compacted away does it re-read the keys.  Snapshots equal to the previous one (a key rewritten with
the same value) are not yielded.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import aetcd
from aetcd.exceptions import ClientError, RevisionCompactedError
from attrs import define, field

from adapters.etcd.errors import etcd_unavailable, is_lease_gone
from domain.discovery.errors import InstanceAlreadyRegistered, InstanceNotRegistered, InvalidInstance
from domain.discovery.model import InstanceLoad, ServiceInstance, ServiceSnapshot, is_valid_name

log = logging.getLogger(__name__)

PREFIX = "/confero/services/"
_RETRY = (0.1, 2.0)  # first and largest pause between attempts while etcd is away
_FAILURES = (ClientError, OSError, TimeoutError)

Key = tuple[str, str]


def encode(instance: ServiceInstance) -> bytes:
    return json.dumps({
        "service": instance.service, "instance_id": instance.instance_id, "http": instance.http,
        "grpc": instance.grpc, "load": {"streams": instance.load.streams, "cpu": instance.load.cpu},
        "draining": instance.draining,
    }, separators=(",", ":")).encode()


def decode(value: bytes) -> ServiceInstance:
    """Raises InvalidInstance (or ValueError/KeyError/TypeError) for a value that is not an instance."""
    raw = json.loads(value)
    load = raw.get("load") or {}
    return ServiceInstance(raw["service"], raw["instance_id"], http=raw.get("http", ""),
                           grpc=raw.get("grpc", ""),
                           load=InstanceLoad(load.get("streams", 0), load.get("cpu", 0.0)),
                           draining=raw.get("draining") is True)


def _check_service(service: str) -> None:
    if not is_valid_name(service):
        raise InvalidInstance("service must be 1-64 of [A-Za-z0-9._-]", value=str(service)[:80])


def _ttl_seconds(ttl: dt.timedelta) -> int:
    if not isinstance(ttl, dt.timedelta) or ttl <= dt.timedelta(0):
        raise InvalidInstance("ttl must be a positive duration")
    return max(1, math.ceil(ttl.total_seconds()))


@define
class _Held:
    """A registration this client keeps alive."""

    instance: ServiceInstance
    ttl: int
    lease: int
    lock: asyncio.Lock = field(factory=asyncio.Lock)
    task: asyncio.Task[None] | None = None


class EtcdServiceRegistry:
    def __init__(self, client: aetcd.Client, *, prefix: str = PREFIX) -> None:
        self._etcd = client
        self._prefix = prefix
        self._own: dict[Key, _Held] = {}
        self._reserved: set[Key] = set()

    def _key(self, service: str, instance_id: str) -> bytes:
        return f"{self._prefix}{service}/{instance_id}".encode()

    # -- registrations -----------------------------------------------------------------------------

    async def register(self, instance: ServiceInstance, ttl: dt.timedelta) -> None:
        seconds = _ttl_seconds(ttl)
        ident = (instance.service, instance.instance_id)
        if ident in self._own or ident in self._reserved:
            raise InstanceAlreadyRegistered(service=instance.service, instance_id=instance.instance_id)
        self._reserved.add(ident)
        try:
            key = self._key(*ident)
            with etcd_unavailable():
                lease = await self._etcd.lease(seconds)
                tx = self._etcd.transactions
                created, _ = await self._etcd.transaction(
                    compare=[tx.create(key) == 0], success=[tx.put(key, encode(instance), lease.id)], failure=[])
                if not created:
                    await self._etcd.revoke_lease(lease.id)
            if not created:
                raise InstanceAlreadyRegistered(service=instance.service, instance_id=instance.instance_id)
            held = _Held(instance, seconds, lease.id)
            held.task = asyncio.get_running_loop().create_task(self._keep_alive(ident, held))
            self._own[ident] = held
        finally:
            self._reserved.discard(ident)

    async def update(self, instance: ServiceInstance) -> None:
        ident = (instance.service, instance.instance_id)
        held = self._own.get(ident)
        if held is None:
            raise InstanceNotRegistered(service=instance.service, instance_id=instance.instance_id)
        async with held.lock:
            if self._own.get(ident) is not held:  # deregistered while this update waited
                raise InstanceNotRegistered(service=instance.service, instance_id=instance.instance_id)
            held.instance = instance
            with etcd_unavailable():
                await self._write(held)

    async def deregister(self, service: str, instance_id: str) -> None:
        held = self._own.pop((service, instance_id), None)
        if held is None:
            return
        await self._stop(held)
        async with held.lock:  # after any write in flight, which could otherwise re-create the key
            with etcd_unavailable():
                await self._etcd.revoke_lease(held.lease)  # removes the key with it

    async def close(self) -> None:
        """A clean shutdown: every instance of this client goes at once (best effort: when etcd cannot
        be reached they go after their TTL)."""
        for service, instance_id in list(self._own):
            with suppress(Exception):
                await self.deregister(service, instance_id)

    async def abandon(self) -> None:
        """Stops renewing without deregistering, as a killed process would (fault tests): the instances
        disappear after their TTL."""
        held, self._own = list(self._own.values()), {}
        for h in held:
            await self._stop(h)

    async def _write(self, held: _Held) -> None:
        """Puts the current value under the lease, granting a new lease when etcd forgot it."""
        key = self._key(held.instance.service, held.instance.instance_id)
        try:
            await self._etcd.put(key, encode(held.instance), lease=held.lease)
        except ClientError as exc:
            if not is_lease_gone(exc):
                raise
            lease = await self._etcd.lease(held.ttl)
            held.lease = lease.id
            await self._etcd.put(key, encode(held.instance), lease=held.lease)
            log.info("etcd lost the lease of %s/%s: registered again", held.instance.service,
                     held.instance.instance_id)

    async def _keep_alive(self, ident: Key, held: _Held) -> None:
        healthy, pause = True, _RETRY[0]
        while self._own.get(ident) is held:
            await asyncio.sleep(max(held.ttl / 3, 0.2) if healthy else pause)
            try:
                async with held.lock:
                    try:
                        reply = await self._etcd.refresh_lease(held.lease)
                        remaining = reply.TTL if reply is not None else 0
                    except ClientError as exc:
                        if not is_lease_gone(exc):
                            raise
                        remaining = 0
                    if remaining <= 0 or not healthy:
                        # The lease ran out (TTL 0), or etcd was away: write the key again, on a new
                        # lease if needed, so the registration is back whatever etcd kept.
                        await self._write(held)
                        if not healthy:
                            log.info("etcd answers again: %s/%s is registered", *ident)
                healthy, pause = True, _RETRY[0]
            except asyncio.CancelledError:
                raise
            except _FAILURES as exc:
                if healthy:
                    log.warning("cannot renew the etcd lease of %s/%s: %r", *ident, exc)
                healthy, pause = False, min(pause * 2, _RETRY[1])

    @staticmethod
    async def _stop(held: _Held) -> None:
        if held.task is not None:
            held.task.cancel()
            with suppress(asyncio.CancelledError):
                await held.task

    # -- reading -----------------------------------------------------------------------------------

    async def instances(self, service: str) -> list[ServiceInstance]:
        _check_service(service)
        with etcd_unavailable():
            found, _ = await self._read(service)
        return sorted(found.values(), key=lambda i: i.instance_id)

    async def _read(self, service: str) -> tuple[dict[bytes, ServiceInstance], int]:
        result = await self._etcd.get_prefix(self._key(service, ""))
        found = {}
        for kv in result:
            instance = self._decoded(kv.key, kv.value)
            if instance is not None:
                found[kv.key] = instance
        return found, result.header.revision

    @staticmethod
    def _decoded(key: bytes, value: bytes) -> ServiceInstance | None:
        try:
            return decode(value)
        except (InvalidInstance, ValueError, KeyError, TypeError, AttributeError):
            log.warning("ignoring a malformed registry entry at %r", key)
            return None

    @asynccontextmanager
    async def watch(self, service: str) -> AsyncIterator[AsyncIterator[ServiceSnapshot]]:
        _check_service(service)
        with etcd_unavailable():
            found, revision = await self._read(service)
        queue: asyncio.Queue[ServiceSnapshot] = asyncio.Queue()
        follower = _Follower(self, service, found, revision, queue)
        task = asyncio.get_running_loop().create_task(follower.run())
        try:
            yield _Snapshots(queue)
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task


class _Snapshots:
    def __init__(self, queue: asyncio.Queue[ServiceSnapshot]) -> None:
        self._queue = queue

    def __aiter__(self) -> _Snapshots:
        return self

    async def __anext__(self) -> ServiceSnapshot:
        return await self._queue.get()


class _Follower:
    """Keeps one service's state from etcd's watch, across broken streams, into snapshots."""

    def __init__(self, registry: EtcdServiceRegistry, service: str, found: dict[bytes, ServiceInstance],
                 revision: int, queue: asyncio.Queue[ServiceSnapshot]) -> None:
        self._registry = registry
        self._service = service
        self._state = found
        self._revision = revision
        self._queue = queue
        self._last: tuple[ServiceInstance, ...] | None = None
        self._emit()

    def _emit(self) -> None:
        instances = tuple(sorted(self._state.values(), key=lambda i: i.instance_id))
        if instances != self._last:
            self._last = instances
            self._queue.put_nowait(ServiceSnapshot(self._service, instances, self._revision))

    async def run(self) -> None:
        etcd = self._registry._etcd
        prefix = self._registry._key(self._service, "")
        pause = _RETRY[0]
        while True:
            try:
                watch = await etcd.watch_prefix(prefix, start_revision=self._revision + 1)
                try:
                    async for event in watch:
                        pause = _RETRY[0]
                        self._apply(event)
                finally:
                    with suppress(Exception):
                        await watch.cancel()
                continue  # the stream ended without an error: follow again from where it stopped
            except RevisionCompactedError:
                log.warning("etcd compacted the history of %s past revision %d: reading it again",
                            self._service, self._revision)
                with suppress(*_FAILURES):
                    self._state, self._revision = await self._registry._read(self._service)
                    self._emit()
                    continue
            except _FAILURES as exc:
                if pause == _RETRY[0]:  # once per outage, not once per attempt
                    log.warning("the etcd watch of %s broke (%r): following again from revision %d",
                                self._service, exc, self._revision + 1)
            await asyncio.sleep(pause)
            pause = min(pause * 2, _RETRY[1])

    def _apply(self, event: aetcd.Event) -> None:
        key = event.kv.key
        if event.kind == aetcd.EventKind.PUT:
            instance = self._registry._decoded(key, event.kv.value)
            if instance is None:
                self._state.pop(key, None)
            else:
                self._state[key] = instance
        else:
            self._state.pop(key, None)
        self._revision = max(self._revision, event.kv.mod_revision)
        self._emit()
