"""Turns at the speech model for concurrent caption streams (issue 12: several speakers at once share
the inference capacity fairly).

At most ``slots`` windows are transcribed at once in this process.  When streams wait, they are served
round-robin, one window each in turn: a stream with a backlog (a long monologue, a burst after a stall)
gets every other turn, never all of its backlog before the others.  The deadline of a call starts when
its turn comes, so waiting for a turn is not mistaken for an engine that stopped answering."""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class FairScheduler:
    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("a scheduler needs at least one slot")
        self.slots = slots
        self._free = slots
        self._waiting: OrderedDict[object, deque[asyncio.Future[None]]] = OrderedDict()

    @property
    def waiting(self) -> int:
        return sum(1 for q in self._waiting.values() for f in q if not f.done())

    @asynccontextmanager
    async def turn(self, stream: object) -> AsyncIterator[None]:
        await self._acquire(stream)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, stream: object) -> None:
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(stream, deque()).append(granted)
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self._release()  # the turn came just as the caller gave up: pass it on
            raise

    def _release(self) -> None:
        self._free += 1
        while self._free > 0 and self._waiting:
            stream, queue = next(iter(self._waiting.items()))
            granted = queue.popleft()
            if queue:
                self._waiting.move_to_end(stream)
            else:
                del self._waiting[stream]
            if not granted.done():  # a cancelled waiter is skipped
                self._free -= 1
                granted.set_result(None)
