from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from adapters.memory.locks import InProcessKeyedLocks

Flush = Callable[[Sequence[Any]], Awaitable[Sequence[Any]]]


class InProcessCombiner:
    """KeyedCombiner for one process: whoever holds a key's lock flushes everything queued for it,
    its own item and the ones that arrived meanwhile; a caller whose item was flushed by an earlier
    holder finds its outcome ready when it gets the lock (or before)."""

    def __init__(self) -> None:
        self._locks = InProcessKeyedLocks()
        self._queued: dict[str, list[tuple[Any, asyncio.Future[Any]]]] = {}

    async def submit(self, key: str, item: Any, flush: Flush) -> Any:
        outcome: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queued.setdefault(key, []).append((item, outcome))
        async with self._locks.hold(key):
            # Still queued: nobody took it yet (it may also be in flight, taken by a holder that was
            # cancelled after starting its flush: then it is only awaited below).
            if any(future is outcome for _, future in self._queued.get(key, ())):
                batch = self._queued.pop(key)
                # Shielded: cancelling this caller must not leave the others of its batch waiting forever.
                await asyncio.shield(asyncio.ensure_future(_run(batch, flush)))
        return await outcome


async def _run(batch: list[tuple[Any, asyncio.Future[Any]]], flush: Flush) -> None:
    try:
        outcomes = await flush([item for item, _ in batch])
    except BaseException as exc:  # noqa: BLE001  (handed to every caller of the batch)
        for _, future in batch:
            if not future.done():
                future.set_exception(exc)
        if not isinstance(exc, Exception):
            raise
        return
    for (_, future), outcome in zip(batch, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
