"""KeyedCombiner contract (ports/combining.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from ports.combining import KeyedCombiner


class Flushes:
    """A flush that records its batches; the first one waits until ``release`` is set."""

    def __init__(self, hold: bool = True) -> None:
        self.batches: list[list[int]] = []
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        if not hold:
            self.release.set()

    async def __call__(self, items: Sequence[int]) -> list[object]:
        self.batches.append(list(items))
        if len(self.batches) == 1:
            self.started.set()
            await self.release.wait()
        return [ValueError(f"odd {n}") if n % 2 else n * 10 for n in items]


class KeyedCombinerContract:
    @pytest.fixture
    async def combiner(self) -> KeyedCombiner:
        raise NotImplementedError

    async def test_items_arriving_during_a_flush_go_together_into_the_next_one_in_order(self, combiner):
        flush = Flushes()
        first = asyncio.create_task(combiner.submit("m", 0, flush))
        await flush.started.wait()
        later = [asyncio.create_task(combiner.submit("m", n, flush)) for n in (2, 4, 6)]
        await asyncio.sleep(0)
        flush.release.set()
        assert await first == 0 and [await t for t in later] == [20, 40, 60]
        assert flush.batches == [[0], [2, 4, 6]]

    async def test_an_exception_outcome_is_raised_to_its_caller_only(self, combiner):
        flush = Flushes()
        first = asyncio.create_task(combiner.submit("m", 0, flush))
        await flush.started.wait()
        odd, even = (asyncio.create_task(combiner.submit("m", n, flush)) for n in (1, 2))
        await asyncio.sleep(0)
        flush.release.set()
        await first
        with pytest.raises(ValueError):
            await odd
        assert await even == 20

    async def test_a_failing_flush_fails_every_item_of_its_batch_and_the_next_batch_still_runs(self, combiner):
        async def broken(items: Sequence[int]) -> list[object]:
            raise RuntimeError("the database is down")

        with pytest.raises(RuntimeError):
            await combiner.submit("m", 1, broken)
        assert await combiner.submit("m", 2, Flushes(hold=False)) == 20

    async def test_different_keys_do_not_wait_for_each_other(self, combiner):
        flush = Flushes()
        held = asyncio.create_task(combiner.submit("a", 0, flush))
        await flush.started.wait()
        assert await asyncio.wait_for(combiner.submit("b", 4, Flushes(hold=False)), timeout=1) == 40
        flush.release.set()
        assert await held == 0

    async def test_a_cancelled_caller_does_not_strand_the_items_it_was_flushing(self, combiner):
        flush = Flushes()
        leader = asyncio.create_task(combiner.submit("m", 0, flush))
        await flush.started.wait()
        follower = asyncio.create_task(combiner.submit("m", 2, flush))
        await asyncio.sleep(0)
        leader.cancel()
        flush.release.set()
        assert await asyncio.wait_for(follower, timeout=1) == 20
