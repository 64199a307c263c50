from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Sequence

from redis.asyncio import Redis

from adapters.redis.errors import translate_errors
from adapters.redis.timeconv import to_us
from domain.shared.limits import AttemptLimit, AttemptsExhausted

# One sorted set per key, attempts scored by time (µs), members are attempt ids.  Check every key,
# then record under every key, in one script: nothing can slip in between (reserve-before-verify).
# Returns 0 when reserved, else the longest wait in µs among the keys over their limit.
_RESERVE = """
local now = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 * i + 1])
  local window = tonumber(ARGV[2 * i + 2])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local n = redis.call('ZCARD', key)
  if n >= limit then
    local oldest = tonumber(redis.call('ZRANGE', key, n - limit, n - limit, 'WITHSCORES')[2])
    wait = math.max(wait, oldest + window - now)
  end
end
if wait > 0 then
  return wait
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, math.floor(tonumber(ARGV[2 * i + 2]) / 1000) + 1)
end
return 0
"""

US_PER_S = 1_000_000


class RedisAttemptLimiter:
    """AttemptLimiter shared by every process on one Redis; each call is one atomic script."""

    def __init__(self, redis: Redis, prefix: str = "confero:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._reserve = redis.register_script(_RESERVE)

    def _key(self, key: str) -> str:
        return f"{self._prefix}attempts:{key}"

    @translate_errors
    async def reserve(self, limits: Sequence[AttemptLimit], now: dt.datetime) -> str:
        attempt_id = uuid.uuid4().hex
        if not limits:
            return attempt_id
        args: list[int | str] = [to_us(now), attempt_id]
        for lim in limits:
            args += [lim.limit, lim.window // dt.timedelta(microseconds=1)]
        wait_us = int(await self._reserve(keys=[self._key(lim.key) for lim in limits], args=args))
        if wait_us > 0:
            raise AttemptsExhausted(retry_after=max(1, math.ceil(wait_us / US_PER_S)))
        return attempt_id

    @translate_errors
    async def release(self, keys: Sequence[str], attempt_id: str) -> None:
        if keys:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.zrem(self._key(key), attempt_id)
                await pipe.execute()
