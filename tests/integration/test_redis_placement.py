"""The RoomPlacement contract against Redis (each client on its own connection), plus the race held by
threads, each with its own event loop and Redis connection, so the callers really run at once."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest

from adapters.redis.client import open_redis
from adapters.redis.placement import RedisRoomPlacement
from confero_contracts.placement import RoomPlacementContract, a_room, chosen
from tests.integration.redis_fixtures import redis_client, redis_prefix  # noqa: F401

pytestmark = pytest.mark.integration
THREADS = 8


class _Clients:
    def __init__(self, url: str, prefix: str, stack: AsyncExitStack) -> None:
        self.url, self.prefix, self.stack = url, prefix, stack

    async def client(self) -> RedisRoomPlacement:
        return RedisRoomPlacement(await self.stack.enter_async_context(open_redis(self.url)), prefix=self.prefix)


class TestRedisRoomPlacement(RoomPlacementContract):
    @pytest.fixture
    async def harness(self, redis_server_url, redis_client, redis_prefix) -> AsyncIterator[_Clients]:
        async with AsyncExitStack() as stack:
            yield _Clients(redis_server_url, redis_prefix, stack)

    async def test_the_placement_is_one_key_under_the_prefix(self, harness, redis_client, redis_prefix):
        room = a_room()
        await (await harness.client()).place(room, chosen("node-a"))
        assert await redis_client.get(f"{redis_prefix}placement:{room}") == "node-a"


def _race(url: str, prefix: str, call: str, room: str, results: list[str | None], barrier: threading.Barrier,
          i: int) -> None:
    async def run() -> None:
        async with open_redis(url) as client:
            placement = RedisRoomPlacement(client, prefix=prefix)
            await asyncio.get_running_loop().run_in_executor(None, barrier.wait)
            if call == "place":
                results[i] = await placement.place(room, chosen(f"node-{i}"))
            else:
                results[i] = await placement.move(room, "lost", f"node-{i}")

    asyncio.run(run())


@pytest.mark.parametrize("call", ["place", "move"])
async def test_threads_racing_on_one_room_all_get_the_one_winner(call, redis_server_url, redis_client, redis_prefix):
    room = a_room()
    if call == "move":
        await RedisRoomPlacement(redis_client, prefix=redis_prefix).place(room, chosen("lost"))
    results: list[str | None] = [None] * THREADS
    barrier = threading.Barrier(THREADS)
    threads = [threading.Thread(target=_race, args=(redis_server_url, redis_prefix, call, room, results, barrier, i))
               for i in range(THREADS)]
    for t in threads:
        t.start()
    await asyncio.get_running_loop().run_in_executor(None, lambda: [t.join() for t in threads])
    assert len(set(results)) == 1, results
    assert results[0] in {f"node-{i}" for i in range(THREADS)}
    assert await redis_client.get(f"{redis_prefix}placement:{room}") == results[0]
