"""Media nodes for tests of PlacedMediaServer (adapters/inprocess/placed_media.py): a memory registry
("media" service), a shared placement, nodes that can go down, and signaling processes that each
compose a PlacedMediaServer over them and record the media_reset frames they send."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from typing import Any

import attrs

from adapters.inprocess.placed_media import PlacedMediaServer
from adapters.memory.discovery import InMemoryDiscoveryStore, InMemoryServiceRegistry
from adapters.memory.placement import InMemoryRoomPlacement
from adapters.system.clock import SystemClock
from domain.discovery.model import InstanceLoad, ServiceInstance
from domain.rooms.model import MediaResetReason
from domain.shared.errors import Unavailable
from domain.shared.ids import MeetingId, UserId
from ports.media import MediaServer
from tests.support.media_fakes import FakeMediaServer

TTL = dt.timedelta(seconds=30)


class DownableNode:
    """A node's MediaServer (a FakeMediaServer, or a real SFU) that answers Unavailable once ``down``."""

    def __init__(self, server: MediaServer | None = None) -> None:
        self.server: Any = server if server is not None else FakeMediaServer()
        self.down = False

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.server, name)
        if not callable(method) or name not in ("signal", "remove", "close_room", "stats"):
            return method

        async def call(*args: Any, **kw: Any) -> Any:
            if self.down:
                raise Unavailable("media node cannot be reached")
            return await method(*args, **kw)
        return call

    async def close(self) -> None:
        """A client's close: the node goes on (GrpcMediaServer.close closes only its channel)."""


class RecordedSignals:
    """MediaSignals of one signaling process: SFU signals go to ``deliver`` (when set), resets are kept."""

    def __init__(self) -> None:
        self.resets: list[tuple[MeetingId, UserId, MediaResetReason]] = []
        self.deliver: Callable[[MeetingId, UserId, str, Mapping[str, Any]], Awaitable[None]] | None = None

    async def to_member(self, room_id: MeetingId, user_id: UserId, kind: str, payload: Mapping[str, Any]) -> None:
        if self.deliver is not None:
            await self.deliver(room_id, user_id, kind, payload)

    async def active_speaker(self, room_id: MeetingId, user_id: UserId) -> None:
        pass

    async def media_reset(self, room_id: MeetingId, user_id: UserId, reason: MediaResetReason) -> None:
        self.resets.append((room_id, user_id, reason))
        if self.deliver is not None:
            await self.deliver(room_id, user_id, "media_reset", {"reason": reason.value})


@attrs.define
class Process:
    media: PlacedMediaServer
    signals: RecordedSignals


class MediaCluster:
    """``async with MediaCluster() as cluster``: nodes by id, signaling processes, one placement."""

    def __init__(self, *, probe_interval: float = 0.05) -> None:
        self.store = InMemoryDiscoveryStore(SystemClock())
        self.placement = InMemoryRoomPlacement()
        self.nodes: dict[str, DownableNode] = {}
        self.registries: dict[str, InMemoryServiceRegistry] = {}
        self.probe_interval = probe_interval
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> MediaCluster:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()
        await self.store.aclose()

    async def add_node(self, node_id: str, *, streams: int = 0, cpu: float = 0.0, draining: bool = False,
                       server: MediaServer | None = None) -> DownableNode:
        node = self.nodes[node_id] = DownableNode(server)
        registry = self.registries[node_id] = self.store.client()
        await registry.register(self.instance(node_id, streams=streams, cpu=cpu, draining=draining), TTL)
        return node

    @staticmethod
    def instance(node_id: str, *, streams: int = 0, cpu: float = 0.0, draining: bool = False) -> ServiceInstance:
        return ServiceInstance("media", node_id, grpc=f"{node_id}.test:50060", load=InstanceLoad(streams, cpu),
                               draining=draining)

    async def report(self, node_id: str, **load: Any) -> None:
        await self.registries[node_id].update(self.instance(node_id, **load))

    async def stop_node(self, node_id: str) -> None:
        """The node stops normally: it leaves the registry and answers nothing more."""
        self.nodes[node_id].down = True
        await self.registries[node_id].deregister("media", node_id)

    async def process(self, **options: Any) -> Process:
        signals = RecordedSignals()
        media = PlacedMediaServer(self.store.client(), self.placement, lambda i: self.nodes[i.instance_id],
                                  signals, probe_interval=options.pop("probe_interval", self.probe_interval),
                                  **options)
        await media.start()
        self._stack.push_async_callback(media.close)
        return Process(media, signals)


async def eventually(condition: Callable[[], bool], *, bound: float = 10.0) -> None:
    """Waits until ``condition()`` holds (``bound`` only stops a broken test from hanging)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + bound
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("the condition did not come true")
        await asyncio.sleep(0.01)


async def placed_signaling(store: InMemoryDiscoveryStore, placement: InMemoryRoomPlacement,
                           members: Mapping[str, Any], *, token: str, policy: Any) -> PlacedMediaServer:
    """One signaling process's PlacedMediaServer over real media nodes (gRPC), its signals handed straight
    to the members (``members[user_id].on_signal``, as an SfuMember's socket would)."""
    from adapters.grpc.media import GrpcMediaServer

    signals = RecordedSignals()

    async def deliver(room_id: str, user_id: str, kind: str, payload: Any) -> None:
        members[user_id].on_signal(kind, dict(payload))

    signals.deliver = deliver  # type: ignore[method-assign]
    media = PlacedMediaServer(store.client(), placement,
                              lambda i: GrpcMediaServer.to(i.grpc, token=token, policy=policy), signals,
                              probe_interval=0.5, probe_timeout=2.0)
    await media.start()
    return media


def placed_member(user: str, room: str, media: PlacedMediaServer, members: dict[str, Any]) -> Any:
    """An SfuMember of ``room`` whose signals go through ``media`` (its signaling process)."""
    from tests.support.sfu_member import SfuMember

    async def send(kind: str, payload: dict[str, Any]) -> None:
        await media.signal(room, user, kind, payload)  # type: ignore[arg-type]

    members[user] = SfuMember(user, send)
    return members[user]
