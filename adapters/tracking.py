"""Shared by every unit-of-work adapter: repositories that hand the events of the aggregates added or
saved through them to their unit, in call order (see ports/uow.py)."""

from __future__ import annotations

from collections.abc import Callable
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
