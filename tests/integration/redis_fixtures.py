"""Redis clients for integration tests.  Import the fixtures into a test module to use them.

The server is shared (by other tests and other engineers' runs), so each test gets its own key
prefix and deletes exactly those keys afterwards: never FLUSHALL/FLUSHDB.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from adapters.redis.client import open_redis


@pytest.fixture
def redis_prefix() -> str:
    return f"test:{uuid.uuid4().hex[:12]}:"


@pytest.fixture
async def redis_client(redis_server_url: str, redis_prefix: str) -> AsyncIterator[Redis]:
    async with open_redis(redis_server_url) as client:
        try:
            yield client
        finally:
            await delete_prefix(client, redis_prefix)


async def delete_prefix(client: Redis, prefix: str) -> None:
    batch = [key async for key in client.scan_iter(match=f"{prefix}*", count=500)]
    for start in range(0, len(batch), 500):
        await client.delete(*batch[start:start + 500])
