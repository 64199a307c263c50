"""This process's sockets, by room, fed from the SignalBus.

The hub listens to a room on the bus while at least one local socket is in it (or this process's
SFU still holds media of the room, local_media.py), turns each typed room event into its frame
once (frames.py), and delivers it to the local sockets it is addressed to.

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
import time
from collections.abc import Callable

from attrs import define, field

from domain.captions.service import CaptionService
from domain.rooms.events import AccessRevoked, CaptionsChanged, RoomClosed, RoomEvent
from domain.shared.ids import MeetingId
from ports.media import MediaServer
from ports.rooms import SignalBus
from runners.signaling.connection import OUTBOX, Connection, frame
from runners.signaling.frames import Delivery, delivery
from runners.signaling.local_media import LocalMedia
from runners.observability.signaling import SIGNALING_SENT

log = logging.getLogger(__name__)
RECENT_REVOCATIONS = 60.0  # seconds; longer than any authentication takes


@define
class Seat:
    conn: Connection
    held: list[RoomEvent] | None = field(factory=list)  # None once admitted

    @property
    def admitted(self) -> bool:
        return self.held is None


class Hub:
    def __init__(self, bus: SignalBus, media: MediaServer | None = None,
                 captions: CaptionService | None = None) -> None:
        self._bus = bus
        self.media = LocalMedia(media)
        self.captions = captions
        self._caption_tasks: set[asyncio.Task[None]] = set()
        self._caption_order = asyncio.Lock()  # FIFO: a quick on-then-off ends off
        self.connections: dict[str, Connection] = {}
        self._by_user: dict[str, set[Connection]] = {}
        self._rooms: dict[MeetingId, dict[str, Seat]] = {}
        self._listeners: dict[MeetingId, contextlib.AsyncExitStack] = {}
        self._lock = asyncio.Lock()  # attach/detach change bus subscriptions: one at a time
        self._recent: list[tuple[float, AccessRevoked]] = []

    def register(self, conn: Connection) -> bool:
        """Adds the socket; True when a revocation of its user arrived while it was authenticating
        (the notice found nothing to close then): the caller must check its token again."""
        self.connections[conn.id] = conn
        self._by_user.setdefault(conn.user_id, set()).add(conn)
        now = time.monotonic()
        self._recent = [(t, n) for t, n in self._recent if now - t < RECENT_REVOCATIONS]
        return any(n.user_id == conn.user_id and n.session_id in (None, conn.principal.session_id)
                   for _, n in self._recent)

    def to_user(self, user_id: str, text: str) -> int:
        """Sends a serialised frame to every socket of the user held here; returns how many."""
        conns = list(self._by_user.get(user_id, ()))
        for conn in conns:
            conn.send_frame(text)
        return len(conns)

    def sockets_of(self, user_id: str) -> int:
        return len(self._by_user.get(user_id, ()))

    async def unregister(self, conn: Connection) -> None:
        self.connections.pop(conn.id, None)
        mine = self._by_user.get(conn.user_id, set())
        mine.discard(conn)
        if not mine:
            self._by_user.pop(conn.user_id, None)
        for room_id in list(conn.rooms):
            await self.detach(conn, room_id)

    def revoked(self, notice: AccessRevoked) -> int:
        """A revocation notice arrived: closes the sockets of that session (and remembers the notice
        a little while for sockets still authenticating); returns how many were closed."""
        self._recent.append((time.monotonic(), notice))
        return self.revoke(notice)

    def revoke(self, notice: AccessRevoked) -> int:
        hit = [c for c in self._by_user.get(notice.user_id, ())
               if notice.session_id is None or c.principal.session_id == notice.session_id]
        for conn in hit:
            conn.error("unauthenticated", "the session ended; log in again and reconnect")
            conn.close("unauthenticated")
        return len(hit)

    async def attach(self, conn: Connection, room_id: MeetingId) -> None:
        """Listens to the room for ``conn``, holding its events until ``admit`` (a seat that is
        already admitted stays admitted: joining again on the same socket)."""
        async with self._lock:
            await self._listen(room_id)
            self._rooms.setdefault(room_id, {}).setdefault(conn.id, Seat(conn))
            conn.rooms.add(room_id)

    def admit(self, conn: Connection, room_id: MeetingId) -> None:
        """The socket is in the room: what was held for it goes out now, in order."""
        seat = self._rooms.get(room_id, {}).get(conn.id)
        if seat is None or seat.held is None:
            return
        held, seat.held = seat.held, None
        for event in held:
            self._send(seat, room_id, delivery(event), lambda d: frame(d.kind, d.data))

    async def detach(self, conn: Connection, room_id: MeetingId) -> None:
        async with self._lock:
            conn.rooms.discard(room_id)
            local = self._rooms.get(room_id, {})
            local.pop(conn.id, None)
            await self._unlisten_if_idle(room_id)

    def hold_media(self, conn: Connection, room_id: MeetingId) -> None:
        """``conn`` negotiated media with this process's SFU in the room."""
        self.media.hold(room_id, conn.principal.user_id, conn.id)

    def seated(self, conn: Connection, room_id: MeetingId) -> bool:
        """``conn`` is admitted to the room here."""
        seat = self._rooms.get(room_id, {}).get(conn.id)
        return seat is not None and seat.admitted

    def local_members(self) -> list[tuple[Connection, MeetingId]]:
        """Admitted seats only: a socket whose admission is in progress is not a member yet."""
        return [(s.conn, r) for r, seats in self._rooms.items() for s in seats.values() if s.admitted]

    async def _listen(self, room_id: MeetingId) -> None:
        if room_id not in self._listeners:
            stack = contextlib.AsyncExitStack()
            await stack.enter_async_context(self._bus.listen(room_id, lambda e: self._deliver(room_id, e)))
            self._listeners[room_id] = stack

    async def _unlisten_if_idle(self, room_id: MeetingId) -> None:
        if self._rooms.get(room_id) or self.media.holds(room_id):
            return
        self._rooms.pop(room_id, None)
        stack = self._listeners.pop(room_id, None)
        if stack is not None:
            await stack.aclose()
            self._follow_captions(room_id, None)

    async def _release(self, room_id: MeetingId) -> None:
        async with self._lock:
            await self._unlisten_if_idle(room_id)

    async def drain(self) -> None:
        """Waits for the media removals and caption starts and stops begun so far (tests, shutdown)."""
        await self.media.drain()
        while self._caption_tasks:
            await asyncio.gather(*list(self._caption_tasks), return_exceptions=True)

    def _captions(self, event: RoomEvent) -> None:
        if isinstance(event, CaptionsChanged | RoomClosed):
            self._follow_captions(event.room_id, event)

    def _follow_captions(self, room_id: MeetingId, event: RoomEvent | None) -> None:
        """This process's caption tap follows the room (domain/captions/service.py): started when
        captions are turned on, stopped when off, when the room closes, or when this process stops
        listening to the room (``event`` None; unless it listens again by then).  In arrival order,
        and not awaited here: a tap must not hold up the room's other events."""
        if self.captions is None:
            return

        async def follow(captions: CaptionService) -> None:
            try:
                async with self._caption_order:
                    if event is not None:
                        await captions.on_room_event(event)
                    elif room_id not in self._listeners:
                        await captions.idle(room_id)
            except Exception:
                log.exception("the caption tap did not follow the room", extra={"room_id": room_id})

        task = asyncio.get_running_loop().create_task(follow(self.captions))
        self._caption_tasks.add(task)
        task.add_done_callback(self._caption_tasks.discard)

    async def _deliver(self, room_id: MeetingId, event: RoomEvent) -> None:
        if self.media.on_event(event) and not self.media.holds(room_id):
            # Not awaited here: unsubscribing waits for the very listener delivering this.
            asyncio.get_running_loop().create_task(self._release(room_id))
        self._captions(event)
        seats = list(self._rooms.get(room_id, {}).values())
        if not seats:
            return
        d = delivery(event)
        text: str | None = None

        def render(d: Delivery) -> str:
            nonlocal text
            if text is None:
                text = frame(d.kind, d.data)  # once for every receiver
            return text

        for seat in seats:
            if seat.held is not None:
                if len(seat.held) >= OUTBOX:
                    seat.conn.close("slow", "too slow to receive")
                else:
                    seat.held.append(event)
                continue
            self._send(seat, room_id, d, render)

    def _send(self, seat: Seat, room_id: MeetingId, d: Delivery, render: Callable[[Delivery], str]) -> None:
        conn = seat.conn
        if d.to is not None and conn.user_id != d.to:
            return
        if d.connection_id is not None and conn.id != d.connection_id:
            return
        if d.exclude is not None and conn.user_id == d.exclude:
            return
        conn.send_frame(render(d))
        SIGNALING_SENT.labels(d.kind).inc()
        if d.leaving:
            # Not awaited here: detaching may unsubscribe the very listener delivering this.
            asyncio.get_running_loop().create_task(self.detach(conn, room_id))
        if d.close:
            conn.close(d.close, d.kind)
