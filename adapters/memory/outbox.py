from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable, Sequence

from attrs import define, field

from adapters.metrics.event_traces import claimed, current_traceparent
from domain.shared.events import DomainEvent
from ports.outbox import OutboxRecord


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@define
class InMemoryBatch:
    records: Sequence[OutboxRecord]
    _outbox: InMemoryOutbox

    async def mark_sent(self, records: Sequence[OutboxRecord]) -> None:
        now = self._outbox.now()
        for r in records:
            self._outbox.sent_at.setdefault(r.position, now)
        self._outbox.redact({r.position for r in records if r.event.secret_fields})


@define
class InMemoryOutbox:
    """Outbox of the memory family; ``InMemoryUnitOfWork`` appends to it in the same step that applies
    its changes, so a change and its events become visible together."""

    now: Callable[[], dt.datetime] = _utcnow
    records: list[OutboxRecord] = field(factory=list)
    sent_at: dict[int, dt.datetime] = field(factory=dict)
    trace_contexts: dict[str, str] = field(factory=dict)  # event id -> the traceparent it was written in
    _next: int = 1
    _busy: bool = False

    def append(self, events: Sequence[DomainEvent]) -> None:
        parent = current_traceparent()
        for event in events:
            if parent is not None:
                self.trace_contexts[event.event_id] = parent
            self.records.append(OutboxRecord(position=self._next, event=event))
            self._next += 1

    def redact(self, positions: set[int]) -> None:
        """Sent records are kept a while (purge_sent): their secrets are not."""
        if positions:
            self.records = [OutboxRecord(position=r.position, event=r.event.redacted()) if r.position in positions
                            else r for r in self.records]

    @property
    def events(self) -> list[DomainEvent]:
        """Every committed event still held, sent or not, in commit order (for tests and debugging)."""
        return [r.event for r in self.records]

    @contextlib.asynccontextmanager
    async def claim(self, limit: int) -> AsyncIterator[InMemoryBatch]:
        if self._busy:
            yield InMemoryBatch([], self)
            return
        self._busy = True
        try:
            pending = [r for r in self.records if r.position not in self.sent_at][:limit]
            claimed((r.event.event_id, self.trace_contexts.get(r.event.event_id)) for r in pending)
            yield InMemoryBatch(pending, self)
        finally:
            self._busy = False

    async def purge_sent(self, before: dt.datetime) -> int:
        gone = {p for p, at in self.sent_at.items() if at < before}
        for r in self.records:
            if r.position in gone:
                self.trace_contexts.pop(r.event.event_id, None)
        self.records = [r for r in self.records if r.position not in gone]
        for p in gone:
            del self.sent_at[p]
        return len(gone)
