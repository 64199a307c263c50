"""The in-process event bus of the memory family, with its dead letters."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable

from attrs import define, field

from adapters.metrics.instruments import DEAD_LETTERED, EVENT_CONSUME_LAG, EVENTS_CONSUMED
from domain.messaging.errors import DeadLetterNotFound
from domain.shared.events import DomainEvent
from domain.shared.ids import new_id
from domain.shared.pagination import Page, PageRequest
from ports.dead_letters import DeadLetter

Subscriber = Callable[[DomainEvent], Awaitable[None]]
log = logging.getLogger(__name__)


@define
class _Consumer:
    name: str
    handler: Subscriber
    queue: collections.deque[DomainEvent] = field(factory=collections.deque)
    failures: int = 0
    handled: collections.OrderedDict[str, None] = field(factory=collections.OrderedDict)


class InMemoryEventBus:
    """In-process EventPublisher with at-least-once, in-order delivery per subscriber.

    Each subscriber has its own queue; an event leaves it only after the subscriber handled it.  A
    subscriber sees an event id once (it remembers the last ``remember`` ids it handled), so the relay
    publishing a record again is harmless.  A failing subscriber is logged and keeps its event at the
    front, retried after ``retry_delay`` seconds (and on every ``publish`` or ``deliver``), without
    stopping the others or the publisher; after ``max_attempts`` failures the event goes to
    ``dead_letters`` and the subscriber goes on with the next one.
    """

    def __init__(self, history: int = 10_000, *, max_attempts: int = 5, retry_delay: float = 0.5,
                 remember: int = 100_000) -> None:
        self.history: collections.deque[DomainEvent] = collections.deque(maxlen=history)
        self.dead_letters = InMemoryDeadLetters(self)
        self._consumers: list[_Consumer] = []
        self._max_attempts = max_attempts
        self._retry_delay = retry_delay
        self._remember = remember
        self._delivering = False
        self._retry: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def subscribe(self, subscriber: Subscriber, *, name: str | None = None) -> None:
        self._consumers.append(_Consumer(name or f"subscriber-{len(self._consumers) + 1}", subscriber))

    async def publish(self, *events: DomainEvent) -> None:
        self.history.extend(events)
        for consumer in self._consumers:
            consumer.queue.extend(events)
        await self.deliver()

    async def deliver(self) -> None:
        """Hands every subscriber what is due; a delivery already running picks new events up itself."""
        if self._delivering:
            return
        self._delivering = True
        try:
            blocked: set[str] = set()  # failed in this round: they wait for their retry
            while todo := [c for c in self._consumers if c.queue and c.name not in blocked]:
                for consumer in todo:
                    if not await self._deliver_to(consumer):
                        blocked.add(consumer.name)
        finally:
            self._delivering = False

    def requeue(self, consumer_name: str, event: DomainEvent) -> None:
        for consumer in self._consumers:
            if consumer.name == consumer_name:
                consumer.handled.pop(event.event_id, None)
                consumer.queue.append(event)
                return
        raise DeadLetterNotFound("nobody consumes as this name any more", consumer=consumer_name)

    async def _deliver_to(self, consumer: _Consumer) -> bool:
        """Delivers this consumer's queue; False when a failure stopped it."""
        while consumer.queue:
            event = consumer.queue[0]
            if event.event_id not in consumer.handled:
                try:
                    await consumer.handler(event)
                except Exception as exc:
                    EVENTS_CONSUMED.labels("failed").inc()
                    consumer.failures += 1
                    if consumer.failures < self._max_attempts:
                        log.exception("event subscriber failed; will retry", extra={"event": event.name})
                        self._schedule_retry()
                        return False
                    log.exception("event subscriber failed %d times; dead-lettered", consumer.failures,
                                  extra={"event": event.name})
                    self.dead_letters.add(consumer.name, event, exc, consumer.failures)
                    DEAD_LETTERED.inc()
                else:
                    EVENTS_CONSUMED.labels("handled").inc()
                    EVENT_CONSUME_LAG.observe(max(0.0, (dt.datetime.now(dt.timezone.utc)
                                                        - event.occurred_at).total_seconds()))
                    consumer.handled[event.event_id] = None
                    if len(consumer.handled) > self._remember:
                        consumer.handled.popitem(last=False)
            consumer.queue.popleft()
            consumer.failures = 0
        return True

    def _schedule_retry(self) -> None:
        if self._retry is not None:
            return
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._retry = None
            task = loop.create_task(self.deliver())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        self._retry = loop.call_later(self._retry_delay, fire)


class InMemoryDeadLetters:
    """DeadLetters of an InMemoryEventBus (``bus.dead_letters``); replay requeues to the consumer."""

    def __init__(self, bus: InMemoryEventBus) -> None:
        self._bus = bus
        self._letters: dict[str, tuple[DeadLetter, DomainEvent]] = {}

    def add(self, consumer: str, event: DomainEvent, error: BaseException, attempts: int) -> None:
        letter = DeadLetter(id=new_id(), name=event.name, event_id=event.event_id, occurred_at=event.occurred_at,
                            payload=json.loads(json.dumps(event.payload())), consumer=consumer,
                            error=f"{type(error).__name__}: {error}"[:1000], attempts=attempts,
                            failed_at=dt.datetime.now(dt.timezone.utc))
        self._letters[letter.id] = (letter, event)

    async def count(self) -> int:
        return len(self._letters)

    async def list(self, page: PageRequest) -> Page[DeadLetter]:
        letters = [letter for letter, _ in self._letters.values()]
        return Page(items=tuple(letters[page.offset:page.offset + page.limit]), total=len(letters),
                    offset=page.offset, limit=page.limit)

    async def replay(self, letter_id: str) -> None:
        found = self._letters.get(letter_id)
        if found is None:
            raise DeadLetterNotFound("no such dead letter", letter_id=letter_id)
        letter, event = found
        self._bus.requeue(letter.consumer, event)
        del self._letters[letter_id]
        await self._bus.deliver()
