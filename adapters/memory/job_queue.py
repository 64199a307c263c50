"""The delivery queue of the all-in-one: in-process, with the Redis queue's semantics."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import heapq
import itertools
import time
import uuid

from adapters.system.clock import SystemClock
from domain.notifications.jobs import DeliveryJob
from ports.clock import Clock
from ports.notifications import Lease


class InMemoryJobQueue:
    """JobQueue in one process.  Jobs due later wait in a heap by due time; a taken job is held for
    ``lease`` seconds, then handed out again (its worker was cancelled mid-send).  Dead letters keep
    the last ``keep_dead``.  Nothing survives the process, which is what the embedded mode promises."""

    def __init__(self, clock: Clock | None = None, *, lease: float = 120.0, keep_dead: int = 10_000) -> None:
        self._clock = clock or SystemClock()
        self._ready: collections.deque[DeliveryJob] = collections.deque()
        self._delayed: list[tuple[dt.datetime, int, DeliveryJob]] = []
        self._seq = itertools.count()
        self._leased: dict[str, tuple[DeliveryJob, float]] = {}
        self._lease = lease
        self._dead: collections.deque[tuple[DeliveryJob, str]] = collections.deque(maxlen=keep_dead)
        self._wake = asyncio.Event()

    async def put(self, *jobs: DeliveryJob, at: dt.datetime | None = None) -> None:
        for job in jobs:
            if at is None or at <= self._clock.now():
                self._ready.append(job)
            else:
                heapq.heappush(self._delayed, (at, next(self._seq), job))
        self._wake.set()

    async def take(self, worker: str, limit: int, wait: float) -> list[Lease]:
        deadline = time.monotonic() + wait
        while True:
            self._promote()
            if self._ready:
                out = []
                while self._ready and len(out) < limit:
                    job = self._ready.popleft()
                    token = uuid.uuid4().hex
                    self._leased[token] = (job, time.monotonic() + self._lease)
                    out.append(Lease(job=job, token=token))
                return out
            left = deadline - time.monotonic()
            if left <= 0:
                return []
            self._wake.clear()
            nap = min(left, self._next_due_in())
            try:
                await asyncio.wait_for(self._wake.wait(), max(nap, 0.001))
            except TimeoutError:
                pass

    async def done(self, lease: Lease) -> None:
        self._leased.pop(lease.token, None)

    async def retry(self, lease: Lease, job: DeliveryJob, at: dt.datetime) -> None:
        if self._leased.pop(lease.token, None) is not None:
            await self.put(job, at=at)

    async def dead(self, lease: Lease, error: str) -> None:
        if self._leased.pop(lease.token, None) is not None:
            self._dead.append((lease.job, error))

    async def dead_letters(self, limit: int = 100) -> list[tuple[DeliveryJob, str]]:
        return list(itertools.islice(self._dead, limit))

    def pending(self) -> int:
        return len(self._ready) + len(self._delayed) + len(self._leased)

    def _promote(self) -> None:
        now = self._clock.now()
        while self._delayed and self._delayed[0][0] <= now:
            self._ready.append(heapq.heappop(self._delayed)[2])
        mono = time.monotonic()
        for token, (job, until) in list(self._leased.items()):
            if until <= mono:
                del self._leased[token]
                self._ready.append(job)

    def _next_due_in(self) -> float:
        soonest = [self._lease]
        if self._delayed:
            soonest.append((self._delayed[0][0] - self._clock.now()).total_seconds())
        if self._leased:
            soonest.append(min(until for _, until in self._leased.values()) - time.monotonic())
        return max(0.0, min(soonest))
