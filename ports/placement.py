from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from domain.shared.ids import MeetingId


class RoomPlacement(Protocol):
    """Which media node holds each room's media, one answer for every signaling process (Redis in
    production; issue 14, docs/signaling.md section 13.7).  A node is named by its instance id in the
    registry's "media" service.  Entries live until released (a room whose meeting never ends keeps its
    node); a placement naming a node that is gone is corrected with ``move``.

    - ``place(room, choose)`` returns the room's node.  When the room has none, ``choose()`` (a plain
      function returning a node id) is called and its node is stored, unless another caller stored one
      first: the first stored node wins and every caller, in any process, gets that one.  ``choose`` is
      called at most once per call, and not at all when the room is already placed; an error it raises
      (NoInstanceAvailable) propagates and nothing is stored.
    - ``move(room, from_node, to_node)`` is a compare-and-set: the room goes to ``to_node`` only if it is
      still on ``from_node``.  Returns the room's node after the call (``to_node`` when this call moved
      it, or when it was already there; another caller's choice otherwise), or None when the room is not
      placed (released meanwhile: nothing is stored).  So several processes noticing one node's death
      each propose a node and all end up with the same one.
    - ``node_of(room)``: the room's node, None when it is not placed.
    - ``release(room)`` forgets the room's node (its meeting ended); nothing happens for a room not placed.

    Any method may raise Unavailable.
    """

    async def place(self, room_id: MeetingId, choose: Callable[[], str]) -> str: ...
    async def move(self, room_id: MeetingId, from_node: str, to_node: str) -> str | None: ...
    async def node_of(self, room_id: MeetingId) -> str | None: ...
    async def release(self, room_id: MeetingId) -> None: ...
