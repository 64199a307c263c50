"""Room presence on Redis: a hash per room (user_id -> member JSON, connection id included) and ONE
sorted set of deadlines for all rooms (member ``room_id|user_id``, score = deadline in µs, exact in a
double), so a reaper finds expired members of every room with one range query.  Each change that
touches both is a Lua script, which Redis runs atomically: that is what makes a racing remove or reap
hand a member to exactly one caller, across processes.  The reap script names room hashes it derives
from the sorted set, so this layout needs a single Redis (not Cluster).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

from redis.asyncio import Redis

from adapters.redis.errors import translate_errors
from adapters.redis.room_codec import member_from_json, member_to_json
from adapters.redis.timeconv import to_us
from domain.rooms.model import MediaState, Member
from domain.shared.ids import MeetingId, UserId

# KEYS: room hash, deadlines.  ARGV: user_id, member JSON, deadline µs, "room|user".
_ENTER = """
local prev = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
return prev
"""

# ARGV: user_id, connection_id, deadline µs, "room|user".
_RENEW = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur or cjson.decode(cur)['connection_id'] ~= ARGV[2] then return 0 end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
return 1
"""

# KEYS: room hash.  ARGV: user_id, connection_id, media JSON.  The member is edited in Lua so no other
# change can slip in between reading and writing it.
_SET_MEDIA = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return false end
local m = cjson.decode(cur)
if m['connection_id'] ~= ARGV[2] then return false end
m['media'] = cjson.decode(ARGV[3])
local out = cjson.encode(m)
redis.call('HSET', KEYS[1], ARGV[1], out)
return out
"""

# ARGV: user_id, "1" to check the connection, connection_id, "room|user".
_REMOVE = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return false end
if ARGV[2] == '1' and cjson.decode(cur)['connection_id'] ~= ARGV[3] then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[4])
return cur
"""

# ARGV: now µs, "room|".  Read-only, but one script so hash and deadlines are read at one instant.
_MEMBERS = """
local rows = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #rows, 2 do
  local score = redis.call('ZSCORE', KEYS[2], ARGV[2] .. rows[i])
  if score and tonumber(score) > tonumber(ARGV[1]) then table.insert(out, rows[i + 1]) end
end
return out
"""

# KEYS: deadlines.  ARGV: now µs, limit, key prefix.  Returns room, member JSON, room, member JSON, ...
_REAP = """
local due = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, ARGV[2])
local out = {}
for _, entry in ipairs(due) do
  redis.call('ZREM', KEYS[1], entry)
  local sep = string.find(entry, '|', 1, true)
  local room, user = string.sub(entry, 1, sep - 1), string.sub(entry, sep + 1)
  local key = ARGV[3] .. 'room:' .. room .. ':members'
  local member = redis.call('HGET', key, user)
  if member then
    redis.call('HDEL', key, user)
    table.insert(out, room)
    table.insert(out, member)
  end
end
return out
"""

# ARGV: "room|".
_CLEAR = """
local rows = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #rows, 2 do
  redis.call('ZREM', KEYS[2], ARGV[1] .. rows[i])
  table.insert(out, rows[i + 1])
end
redis.call('DEL', KEYS[1])
return out
"""


# Open sockets: a sorted set per user (member socket id, score deadline µs) that expires with its
# latest deadline.  KEYS: the user's set.  ARGV: now µs, socket id, limit, deadline µs, ttl ms.
_CLAIM = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if not redis.call('ZSCORE', KEYS[1], ARGV[2]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[5], 'GT')
redis.call('PEXPIRE', KEYS[1], ARGV[5], 'NX')
return 1
"""

# KEYS: the user's set.  ARGV: deadline µs, socket id, ttl ms.
_RENEW_SOCKET = """
if redis.call('ZADD', KEYS[1], 'XX', 'CH', ARGV[1], ARGV[2]) == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[3], 'GT')
end
return 1
"""


class RedisRoomPresence:
    """RoomPresence shared by every process that uses the same Redis and prefix."""

    def __init__(self, redis: Redis, prefix: str = "confero:") -> None:
        self._prefix = prefix
        self._deadlines = f"{prefix}room-deadlines"
        self._enter = redis.register_script(_ENTER)
        self._renew = redis.register_script(_RENEW)
        self._set_media = redis.register_script(_SET_MEDIA)
        self._remove = redis.register_script(_REMOVE)
        self._members = redis.register_script(_MEMBERS)
        self._reap = redis.register_script(_REAP)
        self._clear = redis.register_script(_CLEAR)
        self._claim = redis.register_script(_CLAIM)
        self._renew_socket = redis.register_script(_RENEW_SOCKET)
        self._redis = redis

    def _sockets_key(self, user_id: str) -> str:
        return f"{self._prefix}user:{user_id}:sockets"

    def _keys(self, room_id: str) -> list[str]:
        # The reap script builds this same name from the prefix: keep the two in step.
        return [f"{self._prefix}room:{room_id}:members", self._deadlines]

    @translate_errors
    async def enter(self, room_id: MeetingId, member: Member, deadline: dt.datetime) -> Member | None:
        prev = await self._enter(keys=self._keys(room_id), args=[
            member.user_id, member_to_json(member), to_us(deadline), f"{room_id}|{member.user_id}"])
        return None if prev is None else member_from_json(prev)

    @translate_errors
    async def renew(self, room_id: MeetingId, user_id: UserId, connection_id: str, deadline: dt.datetime) -> bool:
        return bool(await self._renew(keys=self._keys(room_id), args=[
            user_id, connection_id, to_us(deadline), f"{room_id}|{user_id}"]))

    @translate_errors
    async def set_media(self, room_id: MeetingId, user_id: UserId, connection_id: str,
                        media: MediaState) -> Member | None:
        media_json = json.dumps({"audio": media.audio, "video": media.video, "screen": media.screen,
                                 "hand": media.hand})
        out = await self._set_media(keys=self._keys(room_id)[:1], args=[user_id, connection_id, media_json])
        return None if out is None else member_from_json(out)

    @translate_errors
    async def remove(self, room_id: MeetingId, user_id: UserId, connection_id: str | None = None) -> Member | None:
        out = await self._remove(keys=self._keys(room_id), args=[
            user_id, "0" if connection_id is None else "1", connection_id or "", f"{room_id}|{user_id}"])
        return None if out is None else member_from_json(out)

    @translate_errors
    async def members(self, room_id: MeetingId, now: dt.datetime) -> list[Member]:
        rows = await self._members(keys=self._keys(room_id), args=[to_us(now), f"{room_id}|"])
        return sorted(map(member_from_json, rows), key=lambda m: (m.joined_at, m.user_id))

    @translate_errors
    async def reap(self, now: dt.datetime, limit: int = 100) -> list[tuple[MeetingId, Member]]:
        if limit <= 0:
            return []
        flat = await self._reap(keys=[self._deadlines], args=[to_us(now), limit, self._prefix])
        return [(MeetingId(flat[i]), member_from_json(flat[i + 1])) for i in range(0, len(flat), 2)]

    @translate_errors
    async def clear(self, room_id: MeetingId) -> list[Member]:
        rows = await self._clear(keys=self._keys(room_id), args=[f"{room_id}|"])
        return [member_from_json(r) for r in rows]

    @translate_errors
    async def claim_socket(self, user_id: UserId, socket_id: str, limit: int, now: dt.datetime,
                           deadline: dt.datetime) -> bool:
        ttl_ms = max(1, (to_us(deadline) - to_us(now)) // 1000)
        return bool(await self._claim(keys=[self._sockets_key(user_id)], args=[
            to_us(now), socket_id, limit, to_us(deadline), ttl_ms]))

    @translate_errors
    async def renew_sockets(self, sockets: Sequence[tuple[UserId, str]], now: dt.datetime,
                            deadline: dt.datetime) -> None:
        if not sockets:
            return
        ttl_ms = max(1, (to_us(deadline) - to_us(now)) // 1000)
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id, socket_id in sockets:
                await self._renew_socket(keys=[self._sockets_key(user_id)], args=[to_us(deadline), socket_id, ttl_ms],
                                         client=pipe)
            await pipe.execute()

    @translate_errors
    async def release_socket(self, user_id: UserId, socket_id: str) -> None:
        await self._redis.zrem(self._sockets_key(user_id), socket_id)
