"""A media node (issue 14): one process's MediaServer as the rooms placed on it see it, and its drain.

Rules:
- A node takes new rooms until it drains; a draining node refuses an offer that would open a room it
  does not hold (MediaNodeDraining, so the placement puts the room elsewhere); rooms it holds go on,
  offers and all (a member renegotiating, a latecomer joining its meeting).
- A room is held while the server reports a member in it (``stats``): members leave by ``remove``, by
  ``close_room``, or when the server drops a failed connection itself.
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

    async def signal(self, room_id: MeetingId, user_id: UserId, kind: str, payload: Mapping[str, Any]) -> None:
        if kind == "offer" and self.draining and not await self.server.stats(room_id):
            raise MediaNodeDraining("this media node is draining: it opens no new rooms", room_id=room_id)
        await self.server.signal(room_id, user_id, kind, payload)
        if kind == "offer":
            self._seen.add(room_id)

    async def remove(self, room_id: MeetingId, user_id: UserId) -> None:
        await self.server.remove(room_id, user_id)

    async def close_room(self, room_id: MeetingId) -> None:
        await self.server.close_room(room_id)
        self._seen.discard(room_id)

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
        return held
