from __future__ import annotations

from collections.abc import Callable

from redis.asyncio import Redis

from adapters.redis.errors import translate_errors
from domain.shared.ids import MeetingId

# KEYS[1] the room's key; ARGV[1] from_node, ARGV[2] to_node: the node after the call, nil when not placed.
_MOVE = """
local node = redis.call('GET', KEYS[1])
if node == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return ARGV[2]
end
return node
"""


class RedisRoomPlacement:
    """RoomPlacement shared by every process on one Redis: ``place`` is SET NX (the first writer
    wins, the others read its node), ``move`` one compare-and-set script."""

    def __init__(self, redis: Redis, prefix: str = "confero:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._move = redis.register_script(_MOVE)

    def _key(self, room_id: MeetingId) -> str:
        return f"{self._prefix}placement:{room_id}"

    @translate_errors
    async def place(self, room_id: MeetingId, choose: Callable[[], str]) -> str:
        key = self._key(room_id)
        while True:
            node = await self._redis.get(key)
            if node is not None:
                return _text(node)
            proposed = choose()
            if await self._redis.set(key, proposed, nx=True):
                return proposed
            # another process placed it between the GET and the SET (or released it again: retry)
            choose = _once(proposed)

    @translate_errors
    async def move(self, room_id: MeetingId, from_node: str, to_node: str) -> str | None:
        node = await self._move(keys=[self._key(room_id)], args=[from_node, to_node])
        return None if node is None else _text(node)

    @translate_errors
    async def node_of(self, room_id: MeetingId) -> str | None:
        node = await self._redis.get(self._key(room_id))
        return None if node is None else _text(node)

    @translate_errors
    async def release(self, room_id: MeetingId) -> None:
        await self._redis.delete(self._key(room_id))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _once(node: str) -> Callable[[], str]:
    """The node already chosen, so a retry never calls the caller's ``choose`` twice."""
    return lambda: node
