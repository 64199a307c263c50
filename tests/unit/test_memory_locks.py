from __future__ import annotations

import asyncio

import pytest

from adapters.memory.locks import InProcessKeyedLocks
from confero_contracts.locks import KeyedLocksContract


class TestInProcessKeyedLocks(KeyedLocksContract):
    @pytest.fixture
    async def locks(self):
        return InProcessKeyedLocks()


async def test_locks_are_forgotten_when_nobody_holds_or_waits_for_them():
    locks = InProcessKeyedLocks()

    async def use(key: str) -> None:
        async with locks.hold(key):
            await asyncio.sleep(0)

    await asyncio.gather(*(use(f"k{i % 7}") for i in range(100)))
    assert locks._locks == {}
