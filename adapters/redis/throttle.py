from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

from redis.asyncio import Redis

from adapters.redis.errors import translate_errors
from adapters.redis.sliding_window import SlidingWindows
from adapters.redis.timeconv import to_us, ttl_ms
from domain.shared.ids import UserId, new_id
from domain.users.throttling import Bucket, Reservation


US_PER_S = 1_000_000


class RedisLoginThrottle:
    """LoginThrottle: a sorted set per bucket, a key with a TTL per known (user, client)."""

    def __init__(self, redis: Redis, prefix: str = "confero:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._windows = SlidingWindows(redis)

    def _key(self, key: str) -> str:
        return f"{self._prefix}throttle:{key}"

    def _client_key(self, user_id: str, client: str) -> str:
        return f"{self._prefix}known-client:{user_id}:{hashlib.sha256(client.encode()).hexdigest()[:32]}"

    @translate_errors
    async def reserve(self, buckets: Sequence[Bucket], now: dt.datetime) -> Reservation:
        if not buckets:
            return Reservation(id=new_id(), buckets=())
        rid = new_id()
        wait_us = await self._windows.reserve([self._key(b.key) for b in buckets], rid,
                                              [(b.limit, b.window) for b in buckets], now)
        if wait_us:
            return Reservation(id="", buckets=tuple(buckets), retry_after=-(-wait_us // US_PER_S))
        return Reservation(id=rid, buckets=tuple(buckets))

    @translate_errors
    async def release(self, reservation: Reservation) -> None:
        if not reservation.granted or not reservation.buckets:
            return
        await self._windows.release([self._key(b.key) for b in reservation.buckets], reservation.id)

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
