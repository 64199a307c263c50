from __future__ import annotations

from collections.abc import Callable

from domain.shared.ids import MeetingId


class InMemoryRoomPlacement:
    """RoomPlacement for one process (or several sharing this object, as tests do).  Each call runs
    without awaiting in between, so it is atomic on the event loop."""

    def __init__(self) -> None:
        self._nodes: dict[MeetingId, str] = {}

    async def place(self, room_id: MeetingId, choose: Callable[[], str]) -> str:
        node = self._nodes.get(room_id)
        if node is None:
            node = self._nodes[room_id] = choose()
        return node

    async def move(self, room_id: MeetingId, from_node: str, to_node: str) -> str | None:
        if self._nodes.get(room_id) == from_node:
            self._nodes[room_id] = to_node
        return self._nodes.get(room_id)

    async def node_of(self, room_id: MeetingId) -> str | None:
        return self._nodes.get(room_id)

    async def release(self, room_id: MeetingId) -> None:
        self._nodes.pop(room_id, None)
