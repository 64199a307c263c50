"""Long analyses in the background: at most ``concurrency`` at once, at most ``backlog`` waiting.

Jobs live in this process's memory while they wait (their decoded input is not stored anywhere): a
restart loses the waiting ones, which stay "queued" in the store; ``close`` marks nothing and simply
cancels them, bounded by the shutdown timeout.  Metrics: ``confero_ai_jobs{state="waiting"|"running"}``,
each job's wait and run time, and the refusals of a full queue."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from adapters.metrics.instruments import AI_JOB_DURATION, AI_JOB_WAIT, AI_JOBS, AI_JOBS_REJECTED
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
            AI_JOBS_REJECTED.inc()
            raise AnalysisQueueFull("too many long analyses are waiting; try again later", retry_after=30)
        task = asyncio.get_running_loop().create_task(self._run(work), name="analysis-job")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, work: Work) -> None:
        queued = time.perf_counter()
        AI_JOBS.labels("waiting").inc()
        try:
            await self._slots.acquire()
        finally:
            AI_JOBS.labels("waiting").dec()
        started = time.perf_counter()
        AI_JOB_WAIT.observe(started - queued)
        AI_JOBS.labels("running").inc()
        outcome = "error"
        try:
            await work()
            outcome = "ok"
        except Exception:  # the work records its own failure; this only keeps the queue alive
            log.exception("an analysis job raised")
        finally:
            AI_JOBS.labels("running").dec()
            AI_JOB_DURATION.labels(outcome).observe(time.perf_counter() - started)
            self._slots.release()

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
