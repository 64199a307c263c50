"""The media this process's SFU holds, and its cleanup when room events end a membership.

The SFU lives in the process that received the member's offer, but the event that ends the
membership (a kick, a leave over HTTP, a reap, the meeting's end) may be consumed by any process.
So every process watches the room events of the rooms it holds media in (the hub keeps listening
while media is held, even after the member's socket closed) and removes its own members' media,
whichever process turned the meeting event into room events.  A removal names the connection that
sent the offer, so an event about an older membership never removes a newer one's media: here (this
process's own members) and, when the SFU is a media node other processes share, on the node too (the
new offer may reach it, through another process, before this process's removal).
"""

from __future__ import annotations

import asyncio
import logging

from domain.rooms import events as ev
from domain.shared.ids import MeetingId, UserId
from ports.media import MediaServer

log = logging.getLogger(__name__)


class LocalMedia:
    def __init__(self, media: MediaServer | None) -> None:
        self.media = media
        self._held: dict[MeetingId, dict[UserId, str]] = {}  # room -> user -> connection that offered
        self._tasks: set[asyncio.Task[None]] = set()

    def hold(self, room_id: MeetingId, user_id: UserId, connection_id: str) -> None:
        self._held.setdefault(room_id, {})[user_id] = connection_id

    def holds(self, room_id: MeetingId) -> bool:
        return bool(self._held.get(room_id))

    def on_event(self, event: ev.RoomEvent) -> bool:
        """Starts the removals ``event`` calls for; True when it released something."""
        room, held = event.room_id, self._held.get(event.room_id, {})
        match event:
            case ev.RoomClosed():
                # Unconditional: a kick or an end is final, and removing what is not there is a no-op.
                self._spawn(self._close_room(room))
                return self._held.pop(room, None) is not None
            case ev.MemberKicked(user_id=user):
                released = self._release(room, user)
                if not released:
                    self._spawn(self._remove(room, user))
                return released
            case ev.MemberLeft(user_id=user, connection_id=conn) | ev.SessionReplaced(user_id=user, connection_id=conn):
                if held.get(user) == conn:
                    return self._release(room, user, conn)
        return False

    async def drain(self) -> None:
        """Waits for the removals started so far (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _release(self, room_id: MeetingId, user_id: UserId, connection: str | None = None) -> bool:
        held = self._held.get(room_id, {})
        if held.pop(user_id, None) is None:
            return False
        if not held:
            self._held.pop(room_id, None)
        self._spawn(self._remove(room_id, user_id, connection))
        return True

    def _spawn(self, coro: object) -> None:
        task = asyncio.get_running_loop().create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _remove(self, room_id: MeetingId, user_id: UserId, connection: str | None = None) -> None:
        if self.media is not None:
            try:
                await self.media.remove(room_id, user_id, connection)
            except Exception:
                log.exception("removing a member's media failed", extra={"room_id": room_id})

    async def _close_room(self, room_id: MeetingId) -> None:
        if self.media is not None:
            try:
                await self.media.close_room(room_id)
            except Exception:
                log.exception("closing a room's media failed", extra={"room_id": room_id})
