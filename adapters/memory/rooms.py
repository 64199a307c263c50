from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Sequence

from attrs import evolve

from domain.rooms.events import AccessRevoked, RoomEvent
from domain.rooms.model import MediaState, Member
from domain.shared.ids import MeetingId, UserId
from ports.rooms import RevocationHandler, RoomHandler

log = logging.getLogger(__name__)


class InMemoryRoomPresence:
    """Presence for one process: room -> user -> (member, deadline)."""

    def __init__(self) -> None:
        self._rooms: dict[MeetingId, dict[UserId, tuple[Member, dt.datetime]]] = {}
        self._sockets: dict[UserId, dict[str, dt.datetime]] = {}

    async def enter(self, room_id: MeetingId, member: Member, deadline: dt.datetime) -> Member | None:
        room = self._rooms.setdefault(room_id, {})
        previous = room.get(member.user_id)
        room[member.user_id] = (member, deadline)
        return previous[0] if previous else None

    async def renew(self, room_id: MeetingId, user_id: UserId, connection_id: str, deadline: dt.datetime) -> bool:
        entry = self._rooms.get(room_id, {}).get(user_id)
        if entry is None or entry[0].connection_id != connection_id:
            return False
        self._rooms[room_id][user_id] = (entry[0], deadline)
        return True

    async def set_media(self, room_id: MeetingId, user_id: UserId, connection_id: str,
                        media: MediaState) -> Member | None:
        entry = self._rooms.get(room_id, {}).get(user_id)
        if entry is None or entry[0].connection_id != connection_id:
            return None
        member = evolve(entry[0], media=media)
        self._rooms[room_id][user_id] = (member, entry[1])
        return member

    async def remove(self, room_id: MeetingId, user_id: UserId, connection_id: str | None = None) -> Member | None:
        room = self._rooms.get(room_id, {})
        entry = room.get(user_id)
        if entry is None or (connection_id is not None and entry[0].connection_id != connection_id):
            return None
        del room[user_id]
        if not room:
            self._rooms.pop(room_id, None)
        return entry[0]

    async def members(self, room_id: MeetingId, now: dt.datetime) -> list[Member]:
        room = self._rooms.get(room_id, {})
        return sorted((m for m, deadline in room.values() if deadline > now), key=lambda m: (m.joined_at, m.user_id))

    async def reap(self, now: dt.datetime, limit: int = 100) -> list[tuple[MeetingId, Member]]:
        out: list[tuple[MeetingId, Member]] = []
        for room_id, room in list(self._rooms.items()):
            for user_id, (member, deadline) in list(room.items()):
                if len(out) >= limit:
                    return out
                if deadline <= now:
                    del room[user_id]
                    out.append((room_id, member))
            if not room:
                del self._rooms[room_id]
        return out

    async def clear(self, room_id: MeetingId) -> list[Member]:
        return [m for m, _ in self._rooms.pop(room_id, {}).values()]

    async def claim_socket(self, user_id: UserId, socket_id: str, limit: int, now: dt.datetime,
                           deadline: dt.datetime) -> bool:
        live = {s: d for s, d in self._sockets.get(user_id, {}).items() if d > now}
        if socket_id not in live and len(live) >= limit:
            self._sockets[user_id] = live
            return False
        live[socket_id] = deadline
        self._sockets[user_id] = live
        return True

    async def renew_sockets(self, sockets: Sequence[tuple[UserId, str]], now: dt.datetime,
                            deadline: dt.datetime) -> None:
        for user_id, socket_id in sockets:
            mine = self._sockets.get(user_id, {})
            if socket_id in mine:
                mine[socket_id] = deadline

    async def release_socket(self, user_id: UserId, socket_id: str) -> None:
        mine = self._sockets.get(user_id, {})
        mine.pop(socket_id, None)
        if not mine:
            self._sockets.pop(user_id, None)


class InMemorySignalBus:
    """Delivers to the handlers listening in this process; a failing handler is logged, not fatal."""

    def __init__(self) -> None:
        self._handlers: dict[MeetingId, list[RoomHandler]] = {}
        self._revocations: list[RevocationHandler] = []

    async def publish(self, event: RoomEvent) -> None:
        for handler in list(self._handlers.get(event.room_id, ())):
            try:
                await handler(event)
            except Exception:
                log.exception("room handler failed", extra={"room_id": event.room_id})

    @contextlib.asynccontextmanager
    async def listen(self, room_id: MeetingId, handler: RoomHandler) -> AsyncIterator[None]:
        self._handlers.setdefault(room_id, []).append(handler)
        try:
            yield
        finally:
            handlers = self._handlers.get(room_id, [])
            handlers.remove(handler)
            if not handlers:
                self._handlers.pop(room_id, None)

    async def broadcast(self, notice: AccessRevoked) -> None:
        for handler in list(self._revocations):
            try:
                await handler(notice)
            except Exception:
                log.exception("revocation handler failed")

    @contextlib.asynccontextmanager
    async def listen_revocations(self, handler: RevocationHandler) -> AsyncIterator[None]:
        self._revocations.append(handler)
        try:
            yield
        finally:
            self._revocations.remove(handler)
