"""This process's sockets, by room, fed from the SignalBus.

The hub listens to a room on the bus while at least one local socket is in it, and delivers each
room message to the local sockets it is addressed to.

A socket enters a room in two steps.  ``attach`` (before the meeting domain admits it) starts
listening and holds what the room publishes in the seat's buffer, delivering nothing; ``admit``
(after the admission and the presence entry succeeded, and the ``room_state`` reply was queued)
releases the buffer in order.  A refused socket is detached and its buffer dropped unread: nothing
of a room reaches a socket that was not admitted, and nothing published after the admission is
missed.  Heartbeats renew admitted seats only, so a renewal cannot race an admission in progress.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from attrs import define, field

from domain.rooms.model import RoomMessage
from domain.shared.ids import MeetingId
from ports.rooms import SignalBus
from runners.signaling.connection import OUTBOX, Connection, frame

log = logging.getLogger(__name__)
# Messages after which the receiving socket is no longer in the room.
LEAVING = {"kicked", "removed", "room_closed", "session_replaced"}


@define
class Seat:
    conn: Connection
    held: list[RoomMessage] | None = field(factory=list)  # None once admitted

    @property
    def admitted(self) -> bool:
        return self.held is None


class Hub:
    def __init__(self, bus: SignalBus) -> None:
        self._bus = bus
        self.connections: dict[str, Connection] = {}
        self._rooms: dict[MeetingId, dict[str, Seat]] = {}
        self._listeners: dict[MeetingId, contextlib.AsyncExitStack] = {}
        self._lock = asyncio.Lock()  # attach/detach change bus subscriptions: one at a time

    def register(self, conn: Connection) -> None:
        self.connections[conn.id] = conn

    async def unregister(self, conn: Connection) -> None:
        self.connections.pop(conn.id, None)
        for room_id in list(conn.rooms):
            await self.detach(conn, room_id)

    async def attach(self, conn: Connection, room_id: MeetingId) -> None:
        """Listens to the room for ``conn``, holding its messages until ``admit`` (a seat that is
        already admitted stays admitted: joining again on the same socket)."""
        async with self._lock:
            if room_id not in self._listeners:
                stack = contextlib.AsyncExitStack()
                await stack.enter_async_context(self._bus.listen(room_id, lambda m: self._deliver(room_id, m)))
                self._listeners[room_id] = stack
            self._rooms.setdefault(room_id, {}).setdefault(conn.id, Seat(conn))
            conn.rooms.add(room_id)

    def admit(self, conn: Connection, room_id: MeetingId) -> None:
        """The socket is in the room: what was held for it goes out now, in order."""
        seat = self._rooms.get(room_id, {}).get(conn.id)
        if seat is None or seat.held is None:
            return
        held, seat.held = seat.held, None
        for message in held:
            self._send(seat, room_id, message)

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
        """Admitted seats only: a socket whose admission is in progress is not a member yet."""
        return [(s.conn, r) for r, seats in self._rooms.items() for s in seats.values() if s.admitted]

    async def _deliver(self, room_id: MeetingId, message: RoomMessage) -> None:
        for seat in list(self._rooms.get(room_id, {}).values()):
            if seat.held is not None:
                if len(seat.held) >= OUTBOX:
                    seat.conn.close("slow", "too slow to receive")
                else:
                    seat.held.append(message)
                continue
            self._send(seat, room_id, message)

    def _send(self, seat: Seat, room_id: MeetingId, message: RoomMessage) -> None:
        conn = seat.conn
        if message.to is not None and conn.user_id != message.to:
            return
        if message.connection_id is not None and conn.id != message.connection_id:
            return
        if message.exclude is not None and conn.user_id == message.exclude:
            return
        conn.send_frame(frame(message.kind, dict(message.data)))
        if message.kind in LEAVING:
            # Not awaited here: detaching may unsubscribe the very listener delivering this.
            asyncio.get_running_loop().create_task(self.detach(conn, room_id))
        if message.close:
            conn.close(message.close, message.kind)
