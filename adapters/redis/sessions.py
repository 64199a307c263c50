from __future__ import annotations

import datetime as dt

from redis.asyncio import Redis

from adapters.redis.errors import translate_errors
from adapters.redis.timeconv import from_us, to_us, ttl_ms
from domain.shared.ids import UserId
from domain.users.tokens import Session

# The per-user index must outlive every session in it, or revoke_user (ban, password change) would
# miss a live session: both scripts only ever lengthen its expiry.
_EXTEND_INDEX = """
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[2], ARGV[1]) end
"""

# The floor check and the write are one script, so a revocation cannot fall between them.
_CREATE = """
if tonumber(ARGV[7]) < tonumber(redis.call('GET', KEYS[3]) or '0') then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'user_id', ARGV[2], 'refresh_token_id', ARGV[3], 'created_us', ARGV[4],
           'expires_us', ARGV[5], 'sv', ARGV[7])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[6])
""" + _EXTEND_INDEX + "return 1"

# Raises the floor, then drops every indexed session below it (sessions written before security
# versions existed have none: version 0).  The floor only has to outlive logins that read the user
# before the revocation and are still hashing; a day is far beyond that.
_REVOKE_USER = """
local floor = math.max(tonumber(redis.call('GET', KEYS[2]) or '0'), tonumber(ARGV[1]))
redis.call('SET', KEYS[2], floor, 'PX', ARGV[3])
local removed = 0
for _, sid in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local cur = redis.call('HMGET', ARGV[2] .. sid, 'user_id', 'sv')
  if not cur[1] then
    redis.call('SREM', KEYS[1], sid)
  elseif tonumber(cur[2] or '0') < floor then
    redis.call('DEL', ARGV[2] .. sid)
    redis.call('SREM', KEYS[1], sid)
    removed = removed + 1
  end
end
return removed
"""
FLOOR_TTL_MS = 24 * 3600 * 1000

# Compare-and-set in one script: Redis runs it atomically, so of two racing rotations exactly one
# sees the expected id.  Expiry is judged against the caller's `now`, not the key's TTL; an expired
# session is dropped on the spot, as `get` does, so revoke_user never counts it afterwards.
_ROTATE = """
local cur = redis.call('HMGET', KEYS[1], 'user_id', 'refresh_token_id', 'expires_us')
if not cur[1] or cur[1] ~= ARGV[2] then return 0 end
if tonumber(cur[3]) <= tonumber(ARGV[6]) then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[2], ARGV[7])
  return 0
end
if cur[2] ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], 'refresh_token_id', ARGV[4], 'expires_us', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
""" + _EXTEND_INDEX + "return 1"


class RedisSessionStore:
    """SessionStore: a hash per session (with a TTL for garbage collection) and a set per user."""

    def __init__(self, redis: Redis, prefix: str = "confero:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._create = redis.register_script(_CREATE)
        self._rotate = redis.register_script(_ROTATE)
        self._revoke_user = redis.register_script(_REVOKE_USER)

    def _key(self, session_id: str) -> str:
        return f"{self._prefix}session:{session_id}"

    def _index(self, user_id: str) -> str:
        return f"{self._prefix}user-sessions:{user_id}"

    def _floor(self, user_id: str) -> str:
        return f"{self._prefix}user-revoked-below:{user_id}"

    @translate_errors
    async def create(self, session: Session) -> bool:
        # No `now` in this call: the wall clock sizes the TTL, which only collects garbage.
        ttl = ttl_ms(session.expires_at, dt.datetime.now(dt.timezone.utc))
        created = await self._create(
            keys=[self._key(session.id), self._index(session.user_id), self._floor(session.user_id)],
            args=[ttl, session.user_id, session.refresh_token_id, to_us(session.created_at),
                  to_us(session.expires_at), session.id, session.security_version],
        )
        return bool(created)

    @translate_errors
    async def get(self, session_id: str, now: dt.datetime) -> Session | None:
        row = await self._redis.hgetall(self._key(session_id))
        if not row:
            return None
        if int(row["expires_us"]) <= to_us(now):
            await self._drop(session_id, row["user_id"])
            return None
        return Session(id=session_id, user_id=UserId(row["user_id"]), refresh_token_id=row["refresh_token_id"],
                       created_at=from_us(int(row["created_us"])), expires_at=from_us(int(row["expires_us"])),
                       security_version=int(row.get("sv", 0)))

    @translate_errors
    async def rotate(self, session_id: str, expected_refresh_id: str, new_refresh_id: str,
                     expires_at: dt.datetime, now: dt.datetime) -> bool:
        # A session's owner never changes, so reading it outside the script is race-free.
        user_id = await self._redis.hget(self._key(session_id), "user_id")
        if user_id is None:
            return False
        done = await self._rotate(
            keys=[self._key(session_id), self._index(user_id)],
            args=[ttl_ms(expires_at, now), user_id, expected_refresh_id, new_refresh_id, to_us(expires_at),
                  to_us(now), session_id],
        )
        return bool(done)

    @translate_errors
    async def revoke(self, session_id: str) -> None:
        user_id = await self._redis.hget(self._key(session_id), "user_id")
        if user_id is not None:
            await self._drop(session_id, user_id)

    @translate_errors
    async def revoke_user(self, user_id: UserId, security_version: int) -> int:
        return int(await self._revoke_user(keys=[self._index(user_id), self._floor(user_id)],
                                           args=[security_version, self._key(""), FLOOR_TTL_MS]))

    async def _drop(self, session_id: str, user_id: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._key(session_id))
            pipe.srem(self._index(user_id), session_id)
            await pipe.execute()
