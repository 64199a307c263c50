from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Sequence

from redis.asyncio import Redis

from adapters.redis.errors import translate_errors
from adapters.redis.sliding_window import SlidingWindows
from domain.shared.limits import AttemptLimit, AttemptsExhausted

US_PER_S = 1_000_000


class RedisAttemptLimiter:
    """AttemptLimiter shared by every process on one Redis; each call is one atomic script."""

    def __init__(self, redis: Redis, prefix: str = "confero:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._windows = SlidingWindows(redis)

    def _key(self, key: str) -> str:
        return f"{self._prefix}attempts:{key}"

    @translate_errors
    async def reserve(self, limits: Sequence[AttemptLimit], now: dt.datetime) -> str:
        attempt_id = uuid.uuid4().hex
        if not limits:
            return attempt_id
        wait_us = await self._windows.reserve([self._key(lim.key) for lim in limits], attempt_id,
                                              [(lim.limit, lim.window) for lim in limits], now)
        if wait_us > 0:
            raise AttemptsExhausted(retry_after=max(1, math.ceil(wait_us / US_PER_S)))
        return attempt_id

    @translate_errors
    async def release(self, keys: Sequence[str], attempt_id: str) -> None:
        await self._windows.release([self._key(key) for key in keys], attempt_id)
