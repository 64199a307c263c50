"""This process's sockets, by room, fed from the SignalBus.

The hub listens to a room on the bus while at least one local socket is in it, and delivers each
room message to the local sockets it is addressed to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from domain.rooms.model import RoomMessage
from domain.shared.ids import MeetingId
from ports.rooms import SignalBus
from runners.signaling.connection import Connection, frame

log = logging.getLogger(__name__)
# Messages after which the receiving socket is no longer in the room.
LEAVING = {"kicked", "removed", "room_closed", "session_replaced"}


class Hub:
    def __init__(self, bus: SignalBus) -> None:
        self._bus = bus
        self.connections: dict[str, Connection] = {}
        self._rooms: dict[MeetingId, dict[str, Connection]] = {}
        self._listeners: dict[MeetingId, contextlib.AsyncExitStack] = {}
        self._lock = asyncio.Lock()  # attach/detach change bus subscriptions: one at a time

    def register(self, conn: Connection) -> None:
        self.connections[conn.id] = conn

    async def unregister(self, conn: Connection) -> None:
        self.connections.pop(conn.id, None)
        for room_id in list(conn.rooms):
            await self.detach(conn, room_id)

    async def attach(self, conn: Connection, room_id: MeetingId) -> None:
        async with self._lock:
            if room_id not in self._listeners:
                stack = contextlib.AsyncExitStack()
                await stack.enter_async_context(self._bus.listen(room_id, lambda m: self._deliver(room_id, m)))
                self._listeners[room_id] = stack
            self._rooms.setdefault(room_id, {})[conn.id] = conn
            conn.rooms.add(room_id)

    async def detach(self, conn: Connection, room_id: MeetingId) -> None:
        async with self._lock:
            conn.rooms.discard(room_id)
            local = self._rooms.get(room_id, {})
            local.pop(conn.id, None)
            if not local:
                self._rooms.pop(room_id, None)
                stack = self._listeners.pop(room_id, None)
                if stack is not None:
                    await stack.aclose()

    def local_members(self) -> list[tuple[Connection, MeetingId]]:
        return [(c, r) for r, conns in self._rooms.items() for c in conns.values()]

    async def _deliver(self, room_id: MeetingId, message: RoomMessage) -> None:
        text: str | None = None
        for conn in list(self._rooms.get(room_id, {}).values()):
            if message.to is not None and conn.user_id != message.to:
                continue
            if message.connection_id is not None and conn.id != message.connection_id:
                continue
            if message.exclude is not None and conn.user_id == message.exclude:
                continue
            if text is None:
                text = frame(message.kind, dict(message.data))
            conn.send_frame(text)
            if message.kind in LEAVING:
                # Not awaited here: detaching may unsubscribe the very listener delivering this.
                asyncio.get_running_loop().create_task(self.detach(conn, room_id))
            if message.close:
                conn.close(message.close, message.kind)
