"""A counting gate with two classes of work, the urgent one first and with a slot of its own.

Hand-written: asyncio's Semaphore has no priorities and no bounded queue, and no well-kept library
offers a priority semaphore with a reserved slot; this is the ~60 lines that needs.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import time
from collections.abc import AsyncIterator


class GateFull(Exception):
    """Too many waiters of this class already; ``retry_after`` is an estimate in whole seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"busy; retry in {retry_after} s")
        self.retry_after = retry_after


class PriorityGate:
    """At most ``slots`` holders at once.  Urgent work may use every slot; other work at most
    ``slots - reserved``, so urgent work never waits behind it once a reserved slot exists.  Waiting
    urgent work is admitted before waiting other work; each class queues at most ``queue`` waiters,
    beyond which ``enter`` raises GateFull at once instead of queueing."""

    def __init__(self, slots: int, *, reserved: int = 1, queue: int = 64) -> None:
        if slots < 1:
            raise ValueError("a gate needs at least one slot")
        self.slots = slots
        self.reserved = min(reserved, slots - 1)
        self.queue = queue
        self._running = {True: 0, False: 0}
        self._waiting: dict[bool, collections.deque[asyncio.Future[None]]] = {
            True: collections.deque(), False: collections.deque()}
        self._mean_hold = 0.05  # seconds, refined as work completes

    def waiting(self, urgent: bool) -> int:
        return len(self._waiting[urgent])

    def running(self, urgent: bool) -> int:
        return self._running[urgent]

    @contextlib.asynccontextmanager
    async def enter(self, *, urgent: bool) -> AsyncIterator[None]:
        if not self._may_start(urgent) or self._waiting[urgent] or (not urgent and self._waiting[True]):
            if len(self._waiting[urgent]) >= self.queue:
                ahead = len(self._waiting[urgent]) + (0 if urgent else len(self._waiting[True]))
                raise GateFull(max(1, math.ceil(ahead * self._mean_hold / self.slots)))
            waiter = asyncio.get_running_loop().create_future()
            self._waiting[urgent].append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._leave(urgent)  # admitted and cancelled in the same step: hand the slot on
                else:
                    with contextlib.suppress(ValueError):  # _leave may have popped it already
                        self._waiting[urgent].remove(waiter)
                raise
        else:
            self._running[urgent] += 1
        started = time.monotonic()
        try:
            yield
        finally:
            self._mean_hold += (time.monotonic() - started - self._mean_hold) / 8
            self._leave(urgent)

    def _may_start(self, urgent: bool) -> bool:
        total = self._running[True] + self._running[False]
        if urgent:
            return total < self.slots
        return total < self.slots and self._running[False] < self.slots - self.reserved

    def _leave(self, urgent: bool) -> None:
        self._running[urgent] -= 1
        for kind in (True, False):
            queue = self._waiting[kind]
            while queue and self._may_start(kind):
                waiter = queue.popleft()
                if not waiter.done():
                    self._running[kind] += 1
                    waiter.set_result(None)
