"""MediaServer over the media nodes of the registry (issue 14; docs/signaling.md, section 13.7).

Every call for a room goes to the node the room is placed on (RoomPlacement: one answer for every
signaling process), through a client per node made by ``connect`` (GrpcMediaServer in production).
A room not placed yet goes to the least loaded node that is not draining (domain.discovery.placement).

This process remembers its own members (those it relayed an offer for) and the node it last sent each
of their rooms to.  A node is lost when it leaves the registry's "media" service, or when it answers
Unavailable (a relayed call, or the probe that asks each node holding this process's rooms for its
stats every ``probe_interval``).  Then each of this process's rooms on it is moved, compare-and-set,
to another node (two processes noticing the same loss end up with one new node) and this process's
members in it get ``media_reset``: they make a new connection, which goes to the new node.  A room that
another process moved meanwhile is noticed at the next signal: its members here are reset as well.

Draining: a draining node gets no new rooms, and its rooms finish there (nothing moves while it
drains).  When the drained node then goes, its rooms move as a lost node's do, with the reason
``node_drained``.  A node that refuses to open a room because it began draining after the room was
placed on it (MediaNodeDraining) sees the room moved at once, before anyone's media was on it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from domain.discovery.model import ServiceInstance, ServiceSnapshot
from domain.discovery.placement import media_node
from domain.rooms.errors import MediaNodeDraining
from domain.rooms.media import ParticipantMediaStats
from domain.rooms.model import MediaResetReason
from domain.shared.errors import Unavailable
from domain.discovery.errors import NoInstanceAvailable
from domain.shared.ids import MeetingId, UserId
from ports.discovery import ServiceRegistry
from ports.media import MediaServer, MediaSignals
from ports.placement import RoomPlacement

log = logging.getLogger(__name__)
Connect = Callable[[ServiceInstance], MediaServer]


class PlacedMediaServer:
    def __init__(self, registry: ServiceRegistry, placement: RoomPlacement, connect: Connect,
                 signals: MediaSignals, *, service: str = "media", probe_interval: float = 1.0,
                 probe_timeout: float = 2.0, first_snapshot_timeout: float = 5.0, retry_delay: float = 0.5,
                 close_timeout: float = 5.0) -> None:
        self.registry, self.placement, self.connect, self.signals = registry, placement, connect, signals
        self.service = service
        self.probe_interval, self.probe_timeout = probe_interval, probe_timeout
        self.first_snapshot_timeout, self.retry_delay, self.close_timeout = (
            first_snapshot_timeout, retry_delay, close_timeout)
        self._nodes: dict[str, ServiceInstance] = {}  # the registry's latest "media" instances
        self._seen: dict[str, ServiceInstance] = {}  # each node as last seen (was it draining when it went?)
        self._known = asyncio.Event()  # set once the first snapshot is in
        self._clients: dict[str, MediaServer] = {}
        self._members: dict[MeetingId, set[UserId]] = {}  # this process's members
        self._rooms: dict[MeetingId, str] = {}  # the node this process last sent each of its rooms to
        self._locks: dict[MeetingId, asyncio.Lock] = {}
        self._failing: dict[str, asyncio.Task[None]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    # -- lifecycle -------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Follows the registry and probes the nodes holding this process's rooms until ``close``."""
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._follow(), name="media-nodes-follow"),
                       loop.create_task(self._probe(), name="media-nodes-probe")]

    async def close(self) -> None:
        """Stops following and closes the node clients.  The members' media stays on their nodes: a member
        whose socket goes with this process comes back on another one and offers from a new connection
        (which replaces the old one on the node), and a connection nobody comes back for fails and is
        dropped by its node.  Removing them here could remove the new connection of a member who already
        came back through another process."""
        tasks = [*self._tasks, *self._failing.values()]
        for task in self._tasks:
            task.cancel()
        if tasks:  # bounded: a registry watch that ignores its cancellation must not hold up the shutdown
            await asyncio.wait(tasks, timeout=self.close_timeout)
        for client in self._clients.values():
            await self._quietly(client.close())
        self._clients.clear()

    # -- MediaServer -----------------------------------------------------------------------------------

    async def signal(self, room_id: MeetingId, user_id: UserId, kind: str, payload: Mapping[str, Any]) -> None:
        if kind == "offer":
            self._members.setdefault(room_id, set()).add(user_id)
        node = await self._node_for(room_id, offering=user_id if kind == "offer" else None)
        try:
            await self._client(node).signal(room_id, user_id, kind, payload)
        except MediaNodeDraining:
            # placed on it just before it began draining: nobody's media is there yet, so move and retry once
            async with self._lock(room_id):
                node = await self._moved(room_id, node, reason=None)
            await self._client(node).signal(room_id, user_id, kind, payload)
        except Unavailable:
            # Every member of the room here (this one too) is told to start over on the room's new node;
            # this signal belonged to the lost connection.  NoInstanceAvailable when no node can take it.
            await self.node_failed(node)
            if self._rooms.get(room_id, node) == node:
                raise

    async def remove(self, room_id: MeetingId, user_id: UserId, connection: str | None = None) -> None:
        members = self._members.get(room_id, set())
        members.discard(user_id)
        node = self._rooms.get(room_id)
        if not members:
            self._forget(room_id)
        if node is None:
            node = await self.placement.node_of(room_id)
        if node is None:
            return
        try:
            await self._client(node).remove(room_id, user_id, connection)
        except Unavailable:
            log.warning("the media node holding the room cannot remove a member: its connection goes with the node",
                        extra={"room_id": room_id, "node": node})

    async def close_room(self, room_id: MeetingId) -> None:
        node = self._rooms.get(room_id) or await self.placement.node_of(room_id)
        self._forget(room_id)
        if node is not None:
            try:
                await self._client(node).close_room(room_id)
            except Unavailable:
                log.warning("the media node holding the room cannot close it", extra={"room_id": room_id, "node": node})
        await self.placement.release(room_id)

    async def stats(self, room_id: MeetingId) -> list[ParticipantMediaStats]:
        node = self._rooms.get(room_id) or await self.placement.node_of(room_id)
        if node is None:
            return []
        try:
            return await self._client(node).stats(room_id)
        except Unavailable:
            self._fail(node)
            raise

    # -- which node ------------------------------------------------------------------------------------

    def nodes(self) -> list[ServiceInstance]:
        return sorted(self._nodes.values(), key=lambda i: i.instance_id)

    def members(self, room_id: MeetingId) -> set[UserId]:
        return set(self._members.get(room_id, ()))

    async def node_of(self, room_id: MeetingId) -> str:
        """The node ``room_id`` is placed on, placing it now when it is not (as its first offer would);
        NoInstanceAvailable when no node can take it.  The recorder and captioner of a room go there."""
        return await self._node_for(room_id, offering=None)

    async def placed_on(self, room_id: MeetingId) -> str | None:
        """The node ``room_id`` is placed on now, without placing it (None when it is not placed)."""
        return await self.placement.node_of(room_id)

    def client(self, node: str) -> MediaServer:
        """The client of ``node`` (one per node: what it returns changes only after the node was lost)."""
        return self._client(node)

    def connected(self, node: str) -> MediaServer | None:
        """The client of ``node`` if this process has one now (None once the node was lost)."""
        return self._clients.get(node)

    def live(self, node: str) -> bool:
        """Whether ``node`` is in the registry's latest snapshot."""
        return node in self._nodes

    async def any_node(self) -> str:
        """The least loaded live node that is not draining; NoInstanceAvailable when there is none."""
        await self._first_snapshot()
        return self._choose()()

    def node_failed(self, node: str) -> asyncio.Task[None]:
        """Moves this process's rooms off ``node`` and resets their members here (once, however many
        callers notice); awaitable."""
        return self._fail(node)

    def _lock(self, room_id: MeetingId) -> asyncio.Lock:
        return self._locks.setdefault(room_id, asyncio.Lock())

    def _forget(self, room_id: MeetingId) -> None:
        self._members.pop(room_id, None)
        self._rooms.pop(room_id, None)
        lock = self._locks.get(room_id)
        if lock is not None and not lock.locked():
            del self._locks[room_id]

    def _choose(self, avoid: Iterable[str] = ()) -> Callable[[], str]:
        return lambda: media_node(self._nodes.values(), avoid=set(avoid), service=self.service).instance_id

    def _reason(self, node: str) -> MediaResetReason:
        seen = self._seen.get(node)
        return MediaResetReason.NODE_DRAINED if seen is not None and seen.draining else MediaResetReason.NODE_LOST

    async def _first_snapshot(self) -> None:
        if not self._known.is_set():
            try:
                await asyncio.wait_for(self._known.wait(), self.first_snapshot_timeout)
            except TimeoutError:
                raise NoInstanceAvailable("no media node is known yet", service=self.service) from None

    async def _node_for(self, room_id: MeetingId, offering: UserId | None) -> str:
        await self._first_snapshot()
        async with self._lock(room_id):
            node = await self.placement.place(room_id, self._choose())
            if node not in self._nodes and not await self._registered(node):
                return await self._moved(room_id, node, reason=self._reason(node), spare=offering)
            before = self._rooms.get(room_id)
            self._rooms[room_id] = node
            if before is not None and before != node:  # another process moved it: our members were on ``before``
                await self._reset(room_id, self._reason(before), spare=offering)
            return node

    async def _registered(self, node: str) -> bool:
        """Whether a node missing from our snapshot is registered after all (newer than our watch)."""
        for instance in await self.registry.instances(self.service):
            if instance.instance_id == node:
                self._nodes[node] = self._seen[node] = instance
                return True
        return False

    async def _moved(self, room_id: MeetingId, node: str, *, reason: MediaResetReason | None,
                     spare: UserId | None = None) -> str:
        """The room moved off ``node`` (compare-and-set) and, when ``reason``, this process's members in it
        told to start over.  Call with the room's lock held.  NoInstanceAvailable when no node can take it."""
        try:
            target = self._choose(avoid=(node,))()
        except NoInstanceAvailable:
            # Their media is gone either way: tell them once (their next offers get Unavailable until a
            # node can take the room), and stop probing the lost node for this room.
            if reason is not None and self._rooms.pop(room_id, None) == node:
                await self._reset(room_id, reason, spare=spare)
            raise
        new = await self.placement.move(room_id, node, target)
        if new is None:  # released meanwhile: the meeting ended
            self._forget(room_id)
            raise NoInstanceAvailable("the room's media was closed", service=self.service)
        self._rooms[room_id] = new
        log.info("room moved to another media node", extra={"room_id": room_id, "from": node, "to": new,
                                                            "reason": reason.value if reason else "draining"})
        if reason is not None:
            await self._reset(room_id, reason, spare=spare)
        return new

    async def _reset(self, room_id: MeetingId, reason: MediaResetReason, spare: UserId | None = None) -> None:
        for user in sorted(self._members.get(room_id, ())):
            if user != spare:
                try:
                    await self.signals.media_reset(room_id, user, reason)
                except Unavailable:
                    log.warning("could not tell a member to reconnect its media", extra={"room_id": room_id})

    def _client(self, node: str) -> MediaServer:
        client = self._clients.get(node)
        if client is None:
            instance = self._nodes.get(node) or self._seen.get(node)
            if instance is None:
                raise Unavailable("unknown media node", node=node)
            client = self._clients[node] = self.connect(instance)
        return client

    # -- noticing a lost node --------------------------------------------------------------------------

    def _fail(self, node: str) -> asyncio.Task[None]:
        task = self._failing.get(node)
        if task is None or task.done():
            task = self._failing[node] = asyncio.get_running_loop().create_task(self._lost(node),
                                                                                 name=f"media-node-lost-{node}")
        return task

    async def _lost(self, node: str) -> None:
        reason = self._reason(node)
        log.warning("media node lost", extra={"node": node, "reason": reason.value})
        client = self._clients.pop(node, None)
        if client is not None:
            await self._quietly(client.close())
        for room_id in [r for r, n in list(self._rooms.items()) if n == node]:
            async with self._lock(room_id):
                if self._rooms.get(room_id) != node:
                    continue  # moved while we waited for the lock
                try:
                    await self._moved(room_id, node, reason=reason)
                except Unavailable:
                    log.exception("could not move a room off a lost media node", extra={"room_id": room_id})

    async def _follow(self) -> None:
        while True:
            try:
                async with self.registry.watch(self.service) as snapshots:
                    async for snapshot in snapshots:
                        self._on_snapshot(snapshot)
            except Unavailable:
                await asyncio.sleep(self.retry_delay)
            except Exception:
                log.exception("following the media nodes failed; following again")
                await asyncio.sleep(self.retry_delay)

    def _on_snapshot(self, snapshot: ServiceSnapshot) -> None:
        before = self._nodes
        self._nodes = {i.instance_id: i for i in snapshot.instances}
        self._seen.update(self._nodes)
        self._known.set()
        for node in before.keys() - self._nodes.keys():
            if node in self._rooms.values():
                self._fail(node)
            else:
                self._seen.pop(node, None)
                client = self._clients.pop(node, None)
                if client is not None:
                    asyncio.get_running_loop().create_task(self._quietly(client.close()))

    async def _probe(self) -> None:
        while True:
            await asyncio.sleep(self.probe_interval)
            held: dict[str, MeetingId] = {}
            for room_id, node in list(self._rooms.items()):
                held.setdefault(node, room_id)
            await asyncio.gather(*(self._probe_one(node, room_id) for node, room_id in held.items()))

    async def _probe_one(self, node: str, room_id: MeetingId) -> None:
        if node not in self._nodes and self._known.is_set():
            self._fail(node)
            return
        try:
            await asyncio.wait_for(self._client(node).stats(room_id), self.probe_timeout)
        except (Unavailable, TimeoutError):
            self._fail(node)
        except Exception:
            log.debug("a media node's probe failed", exc_info=True)

    @staticmethod
    async def _quietly(coro: Any) -> None:
        try:
            await coro
        except Exception:
            log.debug("ignored while closing", exc_info=True)
