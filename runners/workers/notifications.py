"""The notification service's background work in a process: the domain-event consumer, the delivery
workers and the reminder clock.  Each loop logs and retries its failures; none stops the others."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from domain.notifications.dispatch import Dispatcher
from domain.notifications.service import NotificationService
from domain.shared.errors import Unavailable
from domain.shared.events import DomainEvent

log = logging.getLogger(__name__)
Handler = Callable[[DomainEvent], Awaitable[None]]
# How the events reach the service: the memory bus's subscribe, or a stream subscriber's run loop.
EventSource = Callable[[Handler, asyncio.Event], Awaitable[None]]
REMINDER_TICK = 1.0
RETRY_SECONDS = 1.0
# Jobs a worker takes at once: it sends them one after another, so a large batch would make the last
# wait for the others while idle workers look on.
TAKE = 4


async def _deliver(dispatcher: Dispatcher, name: str, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await dispatcher.run_once(name, limit=TAKE, wait=0.5)
        except Unavailable:
            log.warning("delivery queue unavailable; retrying", extra={"worker": name})
            await asyncio.sleep(RETRY_SECONDS)
        except Exception:
            log.exception("delivery worker failed; retrying", extra={"worker": name})
            await asyncio.sleep(RETRY_SECONDS)


async def _remind(service: NotificationService, stop: asyncio.Event, tick: float) -> None:
    while not stop.is_set():
        try:
            while await service.fire_due_reminders() and not stop.is_set():
                pass
        except Unavailable:
            log.warning("reminders unavailable; retrying")
        except Exception:
            log.exception("firing reminders failed; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), tick)


def notification_worker(service: NotificationService, dispatcher: Dispatcher, events: EventSource, *,
                        workers: int, instance: str, tick: float = REMINDER_TICK,
                        ) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup_ctx generator: runs from app start-up until shutdown, then stops its loops (a send in
    flight is cancelled; its job comes back after the queue's lease, and its key was never marked
    sent, so it is sent then, once)."""

    async def run(app: web.Application) -> AsyncIterator[None]:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(events(service.on_event, stop), name="notify-events"),
                 asyncio.create_task(_remind(service, stop, tick), name="notify-reminders")]
        tasks += [asyncio.create_task(_deliver(dispatcher, f"{instance}-{i}", stop), name=f"notify-deliver-{i}")
                  for i in range(workers)]
        yield
        stop.set()
        _, pending = await asyncio.wait(tasks, timeout=2.0)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    return run
