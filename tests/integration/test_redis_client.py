"""The shared Redis client under a burst larger than its pool."""

from __future__ import annotations

import asyncio

from adapters.redis.client import open_redis
from tests.integration.redis_fixtures import *  # noqa: F403


async def test_a_burst_larger_than_the_pool_waits_for_connections_instead_of_failing(
        redis_server_url: str, redis_prefix: str) -> None:
    async with open_redis(redis_server_url, max_connections=5) as client:
        key = redis_prefix + "burst"
        results = await asyncio.gather(*(client.incr(key) for _ in range(200)), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        assert failures == []
        assert int(await client.get(key)) == 200
        await client.delete(key)
