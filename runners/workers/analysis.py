"""Long analyses in the background: at most ``concurrency`` at once, at most ``backlog`` waiting.

Jobs live in this process's memory while they wait (their decoded input is not stored anywhere): a
restart loses the waiting ones, which stay "queued" in the store; ``close`` marks nothing and simply
cancels them, bounded by the shutdown timeout."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from domain.analysis.errors import AnalysisQueueFull

log = logging.getLogger(__name__)
Work = Callable[[], Awaitable[None]]


class BoundedAnalysisQueue:
    def __init__(self, concurrency: int = 1, backlog: int = 16) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._backlog = backlog
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    @property
    def pending(self) -> int:
        return len(self._tasks)

    def enqueue(self, work: Work) -> None:
        if self._closed or len(self._tasks) >= self._backlog:
            raise AnalysisQueueFull("too many long analyses are waiting; try again later", retry_after=30)
        task = asyncio.get_running_loop().create_task(self._run(work), name="analysis-job")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, work: Work) -> None:
        async with self._slots:
            try:
                await work()
            except Exception:  # the work records its own failure; this only keeps the queue alive
                log.exception("an analysis job raised")

    async def join(self) -> None:
        """Waits until nothing is queued or running (tests, and a graceful stop)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self, timeout: float) -> None:
        self._closed = True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self.join()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)


def analysis_worker(queue: BoundedAnalysisQueue, timeout: float) -> Callable[[web.Application],
                                                                             AsyncIterator[None]]:
    """cleanup_ctx: running jobs get ``timeout`` to finish when the app stops."""
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        yield
        await queue.close(timeout)
    return ctx
