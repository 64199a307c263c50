from __future__ import annotations

import datetime as dt

from redis.asyncio import Redis

from adapters.redis.errors import translate_errors
from adapters.redis.timeconv import to_us, ttl_ms


class RedisTokenDenylist:
    """TokenDenylist: one key per token id holding its ``until``, expiring when the token would."""

    def __init__(self, redis: Redis, prefix: str = "confero:") -> None:
        self._redis = redis
        self._prefix = prefix

    def _key(self, token_id: str) -> str:
        return f"{self._prefix}denied:{token_id}"

    @translate_errors
    async def deny(self, token_id: str, until: dt.datetime, now: dt.datetime) -> None:
        if until > now:
            await self._redis.set(self._key(token_id), to_us(until), px=ttl_ms(until, now))

    @translate_errors
    async def is_denied(self, token_id: str, now: dt.datetime) -> bool:
        # The stored `until`, not the TTL, decides: callers' clocks rule, the TTL only collects garbage.
        until = await self._redis.get(self._key(token_id))
        return until is not None and int(until) > to_us(now)
