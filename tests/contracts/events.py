"""EventPublisher contract plus subscription (see ports/events.py).

Adapters differ in how a subscriber is attached and driven (in process vs a stream consumer), so a
subclass provides an ``EventHarness``.  What a subscriber receives may be the DomainEvent itself or a
wire copy (name, event_id, occurred_at, payload); ``fingerprint`` compares either.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Protocol

import pytest
from attrs import frozen

from domain.shared.events import DomainEvent
from ports.events import EventPublisher

Handler = Callable[[Any], Awaitable[None]]


class EventHarness(Protocol):
    publisher: EventPublisher

    async def subscribe(self, handler: Handler) -> None:
        """Attaches a new independent subscriber that sees every event published from now on."""

    async def deliver(self) -> None:
        """Lets every subscriber handle what is due, retries included; handler failures are swallowed
        (a real consumer logs them and carries on)."""


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
        self._failures_left = dict(fail_on or {})

    async def __call__(self, event: Any) -> None:
        n = (event.payload() if callable(event.payload) else event.payload)["n"]
        if self._failures_left.get(n, 0) > 0:
            self._failures_left[n] -= 1
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
