"""A media node (issue 14): one process's MediaServer as the rooms placed on it see it, and its drain.

Rules:
- A node takes new rooms until it drains; a draining node refuses an offer that would open a room it
  does not hold (MediaNodeDraining, so the placement puts the room elsewhere); rooms it holds go on,
  offers and all (a member renegotiating, a latecomer joining its meeting).
- A room is held while the server reports a member in it (``stats``): members leave by ``remove``, by
  ``close_room``, or when the server drops a failed connection itself.
- The node remembers which signaling connection made each member's current offer (the offer payload's
  ``connection``).  A removal naming another connection is a no-op: when a member's session is replaced
  through another signaling process, the new offer may reach the node before the old process's removal,
  which must not close the new connection.  A removal naming no connection (a kick, the meeting's end)
  removes whatever connection the member has.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from attrs import define, field

from domain.rooms.errors import MediaNodeDraining
from domain.rooms.media import ParticipantMediaStats
from domain.shared.ids import MeetingId, UserId
from ports.media import MediaServer


@define
class MediaNode:
    """A MediaServer (ports/media.py) with the drain rule; ``close`` closes the server it wraps."""

    server: MediaServer
    draining: bool = False
    _seen: set[MeetingId] = field(factory=set, init=False)
    _offered: dict[MeetingId, dict[UserId, str | None]] = field(factory=dict, init=False)

    async def signal(self, room_id: MeetingId, user_id: UserId, kind: str, payload: Mapping[str, Any]) -> None:
        if kind != "offer":
            await self.server.signal(room_id, user_id, kind, payload)
            return
        if self.draining and not await self.server.stats(room_id):
            raise MediaNodeDraining("this media node is draining: it opens no new rooms", room_id=room_id)
        offered = self._offered.setdefault(room_id, {})
        before, offered[user_id] = offered.get(user_id), payload.get("connection")  # before the SFU's await:
        try:  # a removal of the old connection arriving meanwhile is already a no-op
            await self.server.signal(room_id, user_id, kind, payload)
        except BaseException:
            if offered.get(user_id) == payload.get("connection"):
                offered[user_id] = before
            raise
        self._seen.add(room_id)

    async def remove(self, room_id: MeetingId, user_id: UserId, connection: str | None = None) -> None:
        offered = self._offered.get(room_id, {})
        current = offered.get(user_id)
        if connection is not None and current is not None and current != connection:
            return  # about a connection the member's newer offer replaced
        offered.pop(user_id, None)
        if not offered:
            self._offered.pop(room_id, None)
        await self.server.remove(room_id, user_id)

    async def close_room(self, room_id: MeetingId) -> None:
        await self.server.close_room(room_id)
        self._seen.discard(room_id)
        self._offered.pop(room_id, None)

    async def stats(self, room_id: MeetingId) -> list[ParticipantMediaStats]:
        return await self.server.stats(room_id)

    async def close(self) -> None:
        await self.server.close()

    def drain(self) -> None:
        """From now on, no new rooms."""
        self.draining = True

    async def rooms(self) -> list[MeetingId]:
        """The rooms this node holds now (a member in each), sorted."""
        held = []
        for room_id in sorted(self._seen):
            if await self.server.stats(room_id):
                held.append(room_id)
            else:
                self._seen.discard(room_id)
                self._offered.pop(room_id, None)
        return held
