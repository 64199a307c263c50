"""Sliding-window attempt counting on Redis, shared by the login throttle and the attempt limiter.

One sorted set per key, attempts scored by time (µs) with the attempt's id as member.  Checking every
key and recording under every key happen in one script, so no two callers can both take the last
free place (reserve-before-verify under real concurrency).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from redis.asyncio import Redis

from adapters.redis.timeconv import to_us

# ARGV: now, attempt id, then (limit, window) per key, in µs.  Returns 0 when recorded, else the
# longest wait in µs among the keys over their limit (and records nothing).
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


class SlidingWindows:
    """Callers translate Redis errors (``translate_errors``) and name their own keys."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._reserve = redis.register_script(_RESERVE)

    async def reserve(self, keys: Sequence[str], attempt_id: str,
                      limits: Sequence[tuple[int, dt.timedelta]], now: dt.datetime) -> int:
        """Records the attempt under every key if every key has room; else returns the wait in µs."""
        args: list[int | str] = [to_us(now), attempt_id]
        for limit, window in limits:
            args += [limit, window // US]
        return int(await self._reserve(keys=list(keys), args=args))

    async def release(self, keys: Sequence[str], attempt_id: str) -> None:
        """Gives the attempt back (it did not count: a right password, a failure on our side)."""
        if keys:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.zrem(key, attempt_id)
                await pipe.execute()
