"""Contract for ports.locks.KeyedLocks."""

from __future__ import annotations

import asyncio

import pytest

from ports.locks import KeyedLocks


class KeyedLocksContract:
    @pytest.fixture
    async def locks(self) -> KeyedLocks:
        raise NotImplementedError

    async def test_holders_of_one_key_never_overlap(self, locks):
        inside, overlaps = 0, 0

        async def critical() -> None:
            nonlocal inside, overlaps
            async with locks.hold("meeting-1"):
                inside += 1
                overlaps += inside > 1
                await asyncio.sleep(0.001)
                inside -= 1

        await asyncio.gather(*(critical() for _ in range(20)))
        assert overlaps == 0

    async def test_different_keys_do_not_wait_for_each_other(self, locks):
        async with locks.hold("a"):
            await asyncio.wait_for(self._enter(locks, "b"), timeout=1)

    async def test_a_key_is_free_again_after_an_error_inside(self, locks):
        with pytest.raises(RuntimeError):
            async with locks.hold("k"):
                raise RuntimeError("boom")
        await asyncio.wait_for(self._enter(locks, "k"), timeout=1)

    @staticmethod
    async def _enter(locks: KeyedLocks, key: str) -> None:
        async with locks.hold(key):
            pass
