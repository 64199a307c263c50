"""The outbox relay as background work of every process that commits units of work.

Woken by this process's commits (no polling latency), with a slow poll as the safety net: commits of
other processes, events left by a crash, and retries after the stream was unreachable.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from adapters.inprocess.commit_signal import CommitSignal
from domain.messaging.relay import OutboxRelay
from domain.shared.errors import Unavailable

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0
RETRY_SECONDS = 0.5  # after a failure, so a burst of commits during an outage is not a retry storm
PURGE_EVERY = dt.timedelta(minutes=10)
FINAL_DRAIN_SECONDS = 2.0


async def relay_forever(relay: OutboxRelay, signal: CommitSignal, stop: asyncio.Event, *,
                        poll_seconds: float = POLL_SECONDS) -> None:
    purged_at = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
    while not stop.is_set():
        try:
            await relay.drain()
            now = dt.datetime.now(dt.timezone.utc)
            if now - purged_at > PURGE_EVERY:
                await relay.purge(now)
                purged_at = now
        except Unavailable:
            log.warning("outbox relay: the outbox or the event stream is unavailable; will retry")
            await asyncio.sleep(RETRY_SECONDS)
        except Exception:
            log.exception("outbox relay failed; will retry")
            await asyncio.sleep(RETRY_SECONDS)
        await signal.wait(poll_seconds)


def outbox_worker(relay: OutboxRelay, signal: CommitSignal, *,
                  poll_seconds: float = POLL_SECONDS) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup_ctx generator: relays from app start-up until shutdown, then one bounded last drain."""

    async def run(app: web.Application) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(relay_forever(relay, signal, stop, poll_seconds=poll_seconds),
                                   name="outbox-relay")
        yield
        stop.set()
        signal.notify()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, FINAL_DRAIN_SECONDS)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(relay.drain(), FINAL_DRAIN_SECONDS)

    return run
