from __future__ import annotations

import datetime as dt
import uuid

from redis.asyncio import Redis

from adapters.redis.errors import translate_errors
from adapters.redis.timeconv import to_us

# One sorted set per key, failures scored by time (µs).  Entries at or before now - window are
# dropped (the same boundary as InMemoryLoginThrottle).  For each key over its limit the script
# returns the failure whose leaving brings the key back under it; Python turns that into seconds.
_CHECK = """
local out = {}
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1])
  local n = redis.call('ZCARD', key)
  local limit = tonumber(ARGV[i + 1])
  if n >= limit then
    out[i] = redis.call('ZRANGE', key, n - limit, n - limit, 'WITHSCORES')[2]
  else
    out[i] = false
  end
end
return out
"""

_RECORD = """
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1])
  redis.call('ZADD', key, ARGV[2], ARGV[2] .. ':' .. ARGV[4])
  redis.call('PEXPIRE', key, ARGV[3])
end
"""

US_PER_S = 1_000_000


class RedisLoginThrottle:
    """LoginThrottle with a sliding window per key; each call is one atomic script."""

    def __init__(self, redis: Redis, limit: int = 5, window: dt.timedelta = dt.timedelta(minutes=15),
                 address_limit: int = 50, prefix: str = "confero:") -> None:
        self.limit = limit
        self.address_limit = address_limit
        self.window = window
        self._redis = redis
        self._prefix = prefix
        self._window_us = window // dt.timedelta(microseconds=1)
        self._check = redis.register_script(_CHECK)
        self._record = redis.register_script(_RECORD)

    def _limit_for(self, key: str) -> int:
        return self.address_limit if key.startswith("addr:") else self.limit

    def _key(self, key: str) -> str:
        return f"{self._prefix}throttle:{key}"

    @translate_errors
    async def check(self, keys: list[str], now: dt.datetime) -> int:
        if not keys:
            return 0
        now_us = to_us(now)
        oldest = await self._check(keys=[self._key(k) for k in keys],
                                   args=[now_us - self._window_us, *(self._limit_for(k) for k in keys)])
        waits = [-(-(int(float(o)) + self._window_us - now_us) // US_PER_S) for o in oldest if o]
        return max(waits, default=0)

    @translate_errors
    async def record_failure(self, keys: list[str], now: dt.datetime) -> None:
        if not keys:
            return
        now_us = to_us(now)
        # A random member suffix keeps two failures in the same microsecond as two failures.
        await self._record(keys=[self._key(k) for k in keys],
                           args=[now_us - self._window_us, now_us, self._window_us // 1000 + 1, uuid.uuid4().hex])

    @translate_errors
    async def reset(self, key: str) -> None:
        await self._redis.delete(self._key(key))
