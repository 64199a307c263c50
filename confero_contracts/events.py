"""EventPublisher contract plus subscription and dead letters (ports/events.py, ports/dead_letters.py).

Adapters differ in how a subscriber is attached and driven (in process vs a stream consumer), so a
subclass provides an ``EventHarness``.  A subscriber receives the typed DomainEvent, equal to the one
published, whichever way it travelled.  Consumers give up on an event after ``MAX_ATTEMPTS`` failures
(the harness configures its consumers so): it goes to the dead letters and the next ones go on.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Protocol

import pytest
from attrs import frozen

from domain.messaging.errors import DeadLetterNotFound
from domain.shared.events import DomainEvent
from domain.shared.pagination import PageRequest
from ports.dead_letters import DeadLetters
from ports.events import EventPublisher

Handler = Callable[[Any], Awaitable[None]]


MAX_ATTEMPTS = 3


class EventHarness(Protocol):
    publisher: EventPublisher
    dead_letters: DeadLetters

    async def subscribe(self, handler: Handler) -> None:
        """Attaches a new independent subscriber that sees every event published from now on."""

    async def deliver(self) -> None:
        """Lets every subscriber handle what is due, retrying a failed event once (one attempt per
        call); handler failures are swallowed (a real consumer logs them and carries on)."""


@frozen(kw_only=True)
class Happened(DomainEvent):
    name: ClassVar[str] = "test.happened"
    n: int
    tags: tuple[str, ...] = ()
    at: dt.datetime | None = None


def fingerprint(event: Any) -> tuple[str, str, dt.datetime, Any]:
    payload = event.payload() if callable(event.payload) else event.payload
    return event.name, event.event_id, event.occurred_at, json.loads(json.dumps(payload))


def happened(n: int) -> Happened:
    return Happened(occurred_at=dt.datetime(2030, 1, 1, 12, 0, n, 654321, tzinfo=dt.timezone.utc), n=n)


class Recorder:
    def __init__(self, fail_on: dict[int, int] | None = None) -> None:
        self.seen: list[Any] = []
        self.failures: dict[int, int] = {}
        self._failures_left = dict(fail_on or {})

    async def __call__(self, event: Any) -> None:
        n = (event.payload() if callable(event.payload) else event.payload)["n"]
        if self._failures_left.get(n, 0) > 0:
            self._failures_left[n] -= 1
            self.failures[n] = self.failures.get(n, 0) + 1
            raise RuntimeError(f"handler failed on event {n}")
        self.seen.append(event)

    @property
    def numbers(self) -> list[int]:
        return [fingerprint(e)[3]["n"] for e in self.seen]


class EventPublisherContract:
    @pytest.fixture
    async def harness(self) -> EventHarness:
        raise NotImplementedError

    async def test_events_reach_a_subscriber_in_publish_order(self, harness):
        rec = Recorder()
        await harness.subscribe(rec)
        await harness.publisher.publish(happened(1), happened(2))
        await harness.publisher.publish(happened(3))
        await harness.deliver()
        assert rec.numbers == [1, 2, 3]

    async def test_an_event_arrives_with_its_name_id_time_and_payload(self, harness):
        rec = Recorder()
        await harness.subscribe(rec)
        event = Happened(occurred_at=dt.datetime(2030, 2, 3, 4, 5, 6, 7, tzinfo=dt.timezone.utc), n=7,
                         tags=("a", "ü"), at=dt.datetime(2031, 1, 1, tzinfo=dt.timezone.utc))
        await harness.publisher.publish(event)
        await harness.deliver()
        assert [fingerprint(e) for e in rec.seen] == [fingerprint(event)]
        assert fingerprint(rec.seen[0])[3] == {"n": 7, "tags": ["a", "ü"], "at": "2031-01-01T00:00:00+00:00"}

    async def test_publishing_nothing_is_harmless(self, harness):
        rec = Recorder()
        await harness.subscribe(rec)
        await harness.publisher.publish()
        await harness.deliver()
        assert rec.seen == []

    async def test_every_subscriber_gets_every_event(self, harness):
        first, second = Recorder(), Recorder()
        await harness.subscribe(first)
        await harness.subscribe(second)
        await harness.publisher.publish(*(happened(n) for n in range(5)))
        await harness.deliver()
        assert first.numbers == second.numbers == [0, 1, 2, 3, 4]

    async def test_a_failing_subscriber_does_not_starve_the_others(self, harness):
        broken, healthy = Recorder(fail_on={1: 99}), Recorder()
        await harness.subscribe(broken)
        await harness.subscribe(healthy)
        await harness.publisher.publish(happened(1), happened(2))
        await harness.deliver()
        assert healthy.numbers == [1, 2]

    async def test_an_event_whose_handler_failed_is_delivered_again(self, harness):
        rec = Recorder(fail_on={2: 1})
        await harness.subscribe(rec)
        await harness.publisher.publish(happened(1), happened(2), happened(3))
        await harness.deliver()
        await harness.deliver()
        # At least once and in order: 2 comes again, and 3 is never handled before 2.
        assert rec.numbers[0] == 1
        assert sorted(set(rec.numbers)) == [1, 2, 3]
        assert rec.numbers.index(2) < rec.numbers.index(3)

    async def test_many_events_all_arrive_in_order(self, harness):
        rec = Recorder()
        await harness.subscribe(rec)
        for start in range(0, 250, 50):
            await harness.publisher.publish(*(happened(n % 60) for n in range(start, start + 50)))
        await harness.deliver()
        assert rec.numbers == [n % 60 for n in range(250)]

    async def test_a_subscriber_receives_the_typed_event_equal_to_the_published_one(self, harness):
        rec = Recorder()
        await harness.subscribe(rec)
        event = Happened(occurred_at=dt.datetime(2030, 2, 3, 4, 5, 6, 7, tzinfo=dt.timezone.utc), n=7,
                         tags=("a", "b"), at=dt.datetime(2031, 1, 1, tzinfo=dt.timezone.utc))
        await harness.publisher.publish(event)
        await harness.deliver()
        assert rec.seen == [event] and isinstance(rec.seen[0], Happened)

    async def test_an_event_published_twice_is_handled_once(self, harness):
        rec = Recorder()
        await harness.subscribe(rec)
        event = happened(1)
        await harness.publisher.publish(event, happened(2))
        await harness.publisher.publish(event)  # the relay, killed before marking it sent, sends it again
        await harness.deliver()
        assert rec.numbers == [1, 2]

    # -- dead letters ------------------------------------------------------------------------------

    async def test_a_poison_event_lands_in_the_dead_letters_and_the_events_after_it_are_handled(self, harness):
        rec = Recorder(fail_on={2: 1000})
        await harness.subscribe(rec)
        poison = happened(2)
        await harness.publisher.publish(happened(1), poison, happened(3))
        for _ in range(MAX_ATTEMPTS + 1):
            if rec.failures.get(2, 0) < MAX_ATTEMPTS:
                assert 3 not in rec.numbers and await harness.dead_letters.count() == 0
            await harness.deliver()
        assert rec.failures[2] == MAX_ATTEMPTS
        assert rec.numbers == [1, 3]
        assert await harness.dead_letters.count() == 1
        page = await harness.dead_letters.list(PageRequest())
        assert page.total == 1
        letter = page.items[0]
        assert (letter.name, letter.event_id, letter.occurred_at, letter.payload["n"], letter.attempts) == (
            poison.name, poison.event_id, poison.occurred_at, 2, MAX_ATTEMPTS)
        assert "handler failed on event 2" in letter.error

    async def test_a_replayed_dead_letter_reaches_only_the_consumer_that_failed_it(self, harness):
        broken, healthy = Recorder(fail_on={2: MAX_ATTEMPTS}), Recorder()
        await harness.subscribe(broken)
        await harness.subscribe(healthy)
        await harness.publisher.publish(happened(1), happened(2))
        for _ in range(MAX_ATTEMPTS + 1):
            await harness.deliver()
        assert broken.numbers == [1] and healthy.numbers == [1, 2]
        [letter] = (await harness.dead_letters.list(PageRequest())).items
        await harness.dead_letters.replay(letter.id)  # the consumer was fixed meanwhile
        await harness.deliver()
        assert broken.numbers == [1, 2] and healthy.numbers == [1, 2]
        assert await harness.dead_letters.count() == 0
        with pytest.raises(DeadLetterNotFound):
            await harness.dead_letters.replay(letter.id)

    async def test_dead_letters_are_listed_oldest_first_in_pages(self, harness):
        rec = Recorder(fail_on={1: 1000, 2: 1000, 3: 1000})
        await harness.subscribe(rec)
        await harness.publisher.publish(happened(1), happened(2), happened(3), happened(4))
        for _ in range(3 * MAX_ATTEMPTS + 1):
            await harness.deliver()
        assert rec.numbers == [4]
        page = await harness.dead_letters.list(PageRequest(offset=1, limit=1))
        assert page.total == 3 and [letter.payload["n"] for letter in page.items] == [2]
        assert [x.payload["n"] for x in (await harness.dead_letters.list(PageRequest(offset=0, limit=10))).items] \
            == [1, 2, 3]

    async def test_replaying_an_unknown_letter_is_refused(self, harness):
        for letter_id in ("no-such-letter", "1-1", "00000000-0000-0000-0000-000000000000"):
            with pytest.raises(DeadLetterNotFound):
                await harness.dead_letters.replay(letter_id)
