"""Shared by every unit-of-work adapter: repositories that hand the events of the aggregates added or
saved through them to their unit, in call order (see ports/uow.py)."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any

from domain.shared.events import DomainEvent

Collect = Callable[..., None]


class Tracked:
    """Wraps a repository bound to a unit: ``add``/``save`` pull the aggregate's events into the unit
    once the inner call succeeded (a refused save keeps them on the aggregate, which is discarded with
    the retry); every other method is the inner repository's."""

    def __init__(self, inner: Any, collect: Collect) -> None:
        self.inner = inner
        self._collect = collect

    async def add(self, aggregate: Any) -> None:
        await self.inner.add(aggregate)
        self._collect(*aggregate.pull_events())

    async def save(self, aggregate: Any) -> None:
        await self.inner.save(aggregate)
        self._collect(*aggregate.pull_events())

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class EventBuffer:
    """The unit's events in the order they were collected."""

    def __init__(self) -> None:
        self.events: list[DomainEvent] = []

    def __call__(self, *events: DomainEvent) -> None:
        self.events.extend(events)


class UnitLifecycle:
    """What every unit of work does the same way: entered once, used once, events in call order.
    Subclasses call ``_finish()`` at the start of ``commit`` and write what it returns."""

    def __init__(self) -> None:
        self._events = EventBuffer()
        self._done = False

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self._done = True  # leaving without commit keeps nothing: staged writes are dropped

    def collect(self, *events: DomainEvent) -> None:
        self._events(*events)

    def _finish(self) -> list[DomainEvent]:
        """Marks the unit used (a second commit raises RuntimeError) and returns its events."""
        if self._done:
            raise RuntimeError("this unit of work is finished")
        self._done = True
        return self._events.events
