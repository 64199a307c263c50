"""RoomRecorder and RoomCaptioner over the media nodes of PlacedMediaServer (APP_MEDIA_NODES=etcd, issue 14).

Each room's recording and captions go to the node the room is placed on (``PlacedMediaServer.node_of``:
the one answer of RoomPlacement), through a per-node recorder or captioner made by ``connect`` over that
node's media client (GrpcRoomRecorder / GrpcRoomCaptioner on the GrpcMediaServer's channel in
production: one channel per node).  A node's client changes only after the node was lost: its recorder
and captioner are then made anew, and the recordings this process ran there are no longer listed by
``recording()`` (they are lost with the node, so the recording service recovers them).

``recover`` goes to the node this process started the recording on while it is live, else to the live
node that still runs it (it stops it there), else to any live node: the blob store is shared.

Captions follow their room: every ``follow_interval`` the captioner looks where each of its rooms is
placed, and when a room moved (its node was lost or drained, whichever process noticed) it stops the
room's stream on the old node and starts it on the new one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from domain.recordings.media import RecordedFile
from domain.shared.errors import Unavailable
from domain.shared.ids import MeetingId, RecordingId
from ports.captions import RoomCaptioner
from ports.media import MediaServer
from ports.recording_media import RoomRecorder

log = logging.getLogger(__name__)

class Placement(Protocol):
    """What of PlacedMediaServer routing needs (adapters/inprocess/placed_media.py)."""

    async def node_of(self, room_id: MeetingId) -> str: ...
    async def placed_on(self, room_id: MeetingId) -> str | None: ...
    def client(self, node: str) -> MediaServer: ...
    def connected(self, node: str) -> MediaServer | None: ...
    def live(self, node: str) -> bool: ...
    async def any_node(self) -> str: ...


class NodeRecorder(RoomRecorder, Protocol):
    """A node's recorder; never closed here: its channel is the node's media client's."""

    async def running(self) -> list[RecordingId]: ...


class NodeCaptioner(RoomCaptioner, Protocol):
    async def close(self) -> None: ...


T = TypeVar("T", NodeRecorder, NodeCaptioner)


class _PerNode(Generic[T]):
    def __init__(self, media: Placement, connect: Callable[[str, MediaServer], T]) -> None:
        self.media, self.connect = media, connect
        self.made: dict[str, tuple[MediaServer, T]] = {}

    def __call__(self, node: str) -> T:
        client = self.media.client(node)
        made = self.made.get(node)
        if made is None or made[0] is not client:  # the node was lost and connected again: a new channel
            made = self.made[node] = (client, self.connect(node, client))
        return made[1]

    def current(self, node: str) -> T | None:
        """The one made for ``node`` while its client is the same (not lost since) and it is registered."""
        made = self.made.get(node)
        if made is None or not self.media.live(node) or self.media.connected(node) is not made[0]:
            return None
        return made[1]

    def clear(self) -> list[T]:
        made = [m for _, m in self.made.values()]
        self.made.clear()
        return made


class PlacedRoomRecorder:
    def __init__(self, media: Placement, connect: Callable[[str, MediaServer], NodeRecorder]) -> None:
        self.media = media
        self._nodes: _PerNode[NodeRecorder] = _PerNode(media, connect)
        self._started: dict[RecordingId, str] = {}  # the node each recording of this process runs on

    async def start(self, recording_id: RecordingId, room_id: MeetingId, key_prefix: str) -> None:
        node = await self.media.node_of(room_id)
        await self._nodes(node).start(recording_id, room_id, key_prefix)
        self._started[recording_id] = node

    async def stop(self, recording_id: RecordingId) -> list[RecordedFile]:
        node = self._started.get(recording_id)
        if node is None:
            return []
        files = await self._nodes(node).stop(recording_id)
        self._started.pop(recording_id, None)
        return files

    async def recover(self, recording_id: RecordingId, key_prefix: str) -> list[RecordedFile]:
        node = await self._recovering_node(recording_id)
        files = await self._nodes(node).recover(recording_id, key_prefix)
        self._started.pop(recording_id, None)
        return files

    async def recording(self) -> list[RecordingId]:
        """This process's recordings that their nodes still run; Unavailable when a live node cannot be
        asked (never "not recording"); those of a node that left the registry are lost with it."""
        running: set[RecordingId] = set()
        for node in set(self._started.values()):
            recorder = self._nodes.current(node)
            if recorder is not None:
                running.update(await recorder.recording())
        for recording_id, node in list(self._started.items()):
            if recording_id not in running:
                del self._started[recording_id]
        return sorted(running)

    async def close(self) -> None:
        """Forgets the per-node recorders (their channels are the media clients'); the recordings go on."""
        self._nodes.clear()

    async def _recovering_node(self, recording_id: RecordingId) -> str:
        node = self._started.get(recording_id)
        if node is not None and self.media.live(node):
            return node
        for made_node in list(self._nodes.made):
            recorder = self._nodes.current(made_node)
            if recorder is not None:
                try:
                    if recording_id in await recorder.running():
                        return made_node
                except Unavailable:
                    continue
        return await self.media.any_node()


class PlacedRoomCaptioner:
    def __init__(self, media: Placement, connect: Callable[[str, MediaServer], NodeCaptioner], *,
                 follow_interval: float = 1.0) -> None:
        self.media, self.follow_interval = media, follow_interval
        self._nodes: _PerNode[NodeCaptioner] = _PerNode(media, connect)
        self._rooms: dict[MeetingId, tuple[str, NodeCaptioner]] = {}
        self._following: asyncio.Task[None] | None = None

    async def start(self, room_id: MeetingId) -> None:
        await self._start_on(room_id, await self.media.node_of(room_id))
        if self._following is None or self._following.done():
            self._following = asyncio.get_running_loop().create_task(self._follow(), name="captions-follow-rooms")

    async def _start_on(self, room_id: MeetingId, node: str) -> None:
        captioner = self._nodes(node)
        before = self._rooms.get(room_id)
        if before is not None and before[1] is not captioner:  # the room moved: follow it
            await before[1].stop(room_id)
        self._rooms[room_id] = (node, captioner)
        await captioner.start(room_id)

    async def _follow(self) -> None:
        while self._rooms:
            await asyncio.sleep(self.follow_interval)
            for room_id, (node, captioner) in list(self._rooms.items()):
                try:
                    now = await self.media.placed_on(room_id)
                    if self._rooms.get(room_id) != (node, captioner):
                        continue  # stopped (or started again) meanwhile
                    if now is not None and (now != node or self._nodes.current(now) is not captioner):
                        await self._start_on(room_id, now)
                except Exception:  # the placement store or the node: try again at the next look
                    log.warning("captions: could not follow a room to its node", extra={"room_id": room_id},
                                exc_info=True)

    async def stop(self, room_id: MeetingId) -> None:
        held = self._rooms.pop(room_id, None)
        if held is not None:
            await held[1].stop(room_id)

    async def captioning(self) -> list[MeetingId]:
        return sorted(self._rooms)

    async def close(self) -> None:
        """Ends this process's caption streams (the nodes' taps stop when nobody follows a room)."""
        if self._following is not None:
            self._following.cancel()
            await asyncio.gather(self._following, return_exceptions=True)
        for room_id in list(self._rooms):
            await self.stop(room_id)
        for captioner in self._nodes.clear():
            await captioner.close()
