"""The CaptionSink of a media node's caption tap: what is heard in a room goes to one of the callers
following that room over gRPC (runners/rpc/media.py), so each caption is published to the room once
however many signaling processes follow it; when that caller goes, the next one (in the order they came)
gets the room's captions.  A caller too slow to take them loses the oldest first (bounded queues)."""

from __future__ import annotations

import asyncio
from typing import Any

from domain.captions.model import Caption
from domain.shared.ids import MeetingId

Event = tuple[str, Any]  # ("heard", Caption) | ("unavailable", reason) | ("resumed", None)


class CaptionRelay:
    def __init__(self, queue_size: int = 1000) -> None:
        self._listeners: dict[MeetingId, list[asyncio.Queue[Event]]] = {}
        self._queue_size = queue_size

    def listen(self, room_id: MeetingId) -> asyncio.Queue[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue(self._queue_size)
        self._listeners.setdefault(room_id, []).append(queue)
        return queue

    def leave(self, room_id: MeetingId, queue: asyncio.Queue[Event]) -> bool:
        """True when nobody follows the room any more."""
        queues = self._listeners.get(room_id, [])
        if queue in queues:
            queues.remove(queue)
        if not queues:
            self._listeners.pop(room_id, None)
            return True
        return False

    def followed(self) -> list[MeetingId]:
        return sorted(self._listeners)

    def _send(self, room_id: MeetingId, event: Event) -> None:
        queues = self._listeners.get(room_id)
        if not queues:
            return
        queue = queues[0]
        if queue.full():
            queue.get_nowait()
        queue.put_nowait(event)

    async def heard(self, caption: Caption) -> None:
        self._send(caption.meeting_id, ("heard", caption))

    async def unavailable(self, room_id: MeetingId, reason: str) -> None:
        self._send(room_id, ("unavailable", reason))

    async def resumed(self, room_id: MeetingId) -> None:
        self._send(room_id, ("resumed", None))
