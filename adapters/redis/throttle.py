from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

from redis.asyncio import Redis

from adapters.redis.errors import translate_errors
from adapters.redis.timeconv import to_us, ttl_ms
from domain.shared.ids import UserId, new_id
from domain.users.throttling import Bucket, Reservation

# One sorted set per bucket, attempts scored by time (µs) with the reservation id as member.  Deciding
# and counting happen in one script, so no two reservations can both see the last free place.
# ARGV: now, reservation id, then (limit, window) per key.  Returns 0 (counted) or the wait in µs.
_RESERVE = """
local now = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  local limit, window = tonumber(ARGV[1 + 2 * i]), tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local n = redis.call('ZCARD', key)
  if n >= limit then
    local oldest = tonumber(redis.call('ZRANGE', key, n - limit, n - limit, 'WITHSCORES')[2])
    wait = math.max(wait, oldest + window - now)
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, math.floor(tonumber(ARGV[2 + 2 * i]) / 1000) + 1)
end
return 0
"""

US = dt.timedelta(microseconds=1)
US_PER_S = 1_000_000


class RedisLoginThrottle:
    """LoginThrottle: a sorted set per bucket, a key with a TTL per known (user, client)."""

    def __init__(self, redis: Redis, prefix: str = "confero:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._reserve = redis.register_script(_RESERVE)

    def _key(self, key: str) -> str:
        return f"{self._prefix}throttle:{key}"

    def _client_key(self, user_id: str, client: str) -> str:
        return f"{self._prefix}known-client:{user_id}:{hashlib.sha256(client.encode()).hexdigest()[:32]}"

    @translate_errors
    async def reserve(self, buckets: Sequence[Bucket], now: dt.datetime) -> Reservation:
        if not buckets:
            return Reservation(id=new_id(), buckets=())
        rid = new_id()
        args: list[int | str] = [to_us(now), rid]
        for bucket in buckets:
            args += [bucket.limit, bucket.window // US]
        wait_us = int(await self._reserve(keys=[self._key(b.key) for b in buckets], args=args))
        if wait_us:
            return Reservation(id="", buckets=tuple(buckets), retry_after=-(-wait_us // US_PER_S))
        return Reservation(id=rid, buckets=tuple(buckets))

    @translate_errors
    async def release(self, reservation: Reservation) -> None:
        if not reservation.granted or not reservation.buckets:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for bucket in reservation.buckets:
                pipe.zrem(self._key(bucket.key), reservation.id)
            await pipe.execute()

    @translate_errors
    async def reset(self, key: str) -> None:
        await self._redis.delete(self._key(key))

    @translate_errors
    async def remember_client(self, user_id: UserId, client: str, until: dt.datetime, now: dt.datetime) -> None:
        if until > now:
            await self._redis.set(self._client_key(user_id, client), to_us(until), px=ttl_ms(until, now))

    @translate_errors
    async def knows_client(self, user_id: UserId, client: str, now: dt.datetime) -> bool:
        # The stored instant decides (the caller's clock rules); the TTL only collects garbage.
        until = await self._redis.get(self._client_key(user_id, client))
        return until is not None and int(until) > to_us(now)
