"""Webhooks as background work of a process: the dispatcher reads the event stream (one consumer group
shared by every process, so each event is turned into deliveries once) and the deliverer polls the
store for due deliveries (leased claims, so several processes never send one delivery together).
Nothing lives only in memory: a restart picks pending deliveries up from the store."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from adapters.httpclient.webhooks import AiohttpWebhookSender
from adapters.memory.events import InMemoryEventBus
from adapters.redis.events import RedisStreamSubscriber
from domain.shared.errors import Unavailable
from domain.shared.events import DomainEvent
from domain.webhooks.service import WebhookDeliverer, WebhookDispatcher

log = logging.getLogger(__name__)
Handler = Callable[[DomainEvent], Awaitable[None]]
Feed = Callable[[Handler, asyncio.Event], Awaitable[None]]
STOP_SECONDS = 2.0
PURGE_EVERY_SECONDS = 600.0


def memory_feed(bus: InMemoryEventBus) -> Feed:
    async def run(handler: Handler, stop: asyncio.Event) -> None:
        bus.subscribe(handler, name="webhooks")
        await stop.wait()

    return run


def stream_feed(subscriber: RedisStreamSubscriber) -> Feed:
    async def run(handler: Handler, stop: asyncio.Event) -> None:
        await subscriber.run(handler, stop)

    return run


async def deliver_forever(deliverer: WebhookDeliverer, stop: asyncio.Event, poll_seconds: float) -> None:
    purged_at = -PURGE_EVERY_SECONDS
    while not stop.is_set():
        attempted = 0
        try:
            if time.monotonic() - purged_at >= PURGE_EVERY_SECONDS:
                await deliverer.purge_log()
                purged_at = time.monotonic()
            attempted = await deliverer.deliver_due()
        except Unavailable:
            log.warning("webhooks: the store is unavailable; will retry")
        except Exception:
            log.exception("webhook delivery round failed; will retry")
        if attempted < deliverer.batch:  # a full batch: more may be due at once
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll_seconds)


def webhook_worker(dispatcher: WebhookDispatcher, deliverer: WebhookDeliverer, feed: Feed,
                   sender: AiohttpWebhookSender, *, poll_seconds: float = 1.0,
                   ) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup_ctx generator: dispatches and delivers from app start-up until shutdown."""

    async def run(app: web.Application) -> AsyncIterator[None]:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(feed(dispatcher, stop), name="webhook-dispatcher"),
                 asyncio.create_task(deliver_forever(deliverer, stop, poll_seconds), name="webhook-deliverer")]
        yield
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), STOP_SECONDS)
        for task in tasks:
            task.cancel()
        await sender.close()

    return run
