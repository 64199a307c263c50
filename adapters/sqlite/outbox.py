"""The Outbox on SQLite (schema: migrations/0004_outbox.sql), and how a unit writes to it.

One relay at a time is a flag of the database object, not a lock held across the batch: the relay
publishes while the batch is open, and what it publishes to may use the same database.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
from collections.abc import AsyncIterator, Callable, Sequence

import aiosqlite
from attrs import define

from adapters.metrics.event_traces import claimed, current_traceparent
from adapters.sqlite.database import SqliteDatabase
from adapters.sqlite.timeconv import from_us, to_us
from domain.shared.events import DomainEvent, UnknownEvent, event_from_record
from ports.outbox import OutboxRecord

log = logging.getLogger(__name__)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


async def write_events(conn: aiosqlite.Connection, events: Sequence[DomainEvent], now: dt.datetime) -> None:
    """Appends ``events`` in order inside the caller's transaction, with the trace they were written in."""
    parent = current_traceparent()
    await conn.executemany(
        "INSERT INTO outbox (event_id, name, occurred_at, payload, committed_at, trace_context)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(e.event_id, e.name, to_us(e.occurred_at), json.dumps(e.payload(), separators=(",", ":")), to_us(now),
          parent) for e in events])


@define
class SqliteOutboxBatch:
    records: Sequence[OutboxRecord]
    _outbox: SqliteOutbox

    async def mark_sent(self, records: Sequence[OutboxRecord]) -> None:
        if records:
            await self._outbox.mark_sent([r.position for r in records])
            await self._outbox.redact([r for r in records if r.event.secret_fields])


class SqliteOutbox:
    def __init__(self, db: SqliteDatabase, now: Callable[[], dt.datetime] = _utcnow) -> None:
        self._db = db
        self._now = now

    @contextlib.asynccontextmanager
    async def claim(self, limit: int) -> AsyncIterator[SqliteOutboxBatch]:
        if self._db.relay_busy:
            yield SqliteOutboxBatch([], self)
            return
        self._db.relay_busy = True
        try:
            async with self._db.connection() as conn:
                async with conn.execute(
                        "SELECT position, event_id, name, occurred_at, payload, trace_context FROM outbox"
                        " WHERE sent_at IS NULL ORDER BY position LIMIT ?", (limit,)) as cur:
                    rows = await cur.fetchall()
            claimed((r[1], r[5]) for r in rows)  # for the relay's producer span (adapters/metrics/event_traces.py)
            yield SqliteOutboxBatch(_readable_prefix([r[:5] for r in rows]), self)
        finally:
            self._db.relay_busy = False

    async def mark_sent(self, positions: list[int]) -> None:
        async with self._db.connection() as conn:
            await conn.execute(f"UPDATE outbox SET sent_at = ? WHERE position IN ({', '.join('?' * len(positions))})",
                               (to_us(self._now()), *positions))

    async def redact(self, records: Sequence[OutboxRecord]) -> None:
        """Sent rows stay until purge_sent: their one-time tokens must not (``secret_fields``)."""
        if not records:
            return
        async with self._db.connection() as conn:
            for r in records:
                paths = [f"$.{name}" for name in r.event.secret_fields if name.isidentifier()]
                await conn.execute(f"UPDATE outbox SET payload = json_remove(payload, {', '.join('?' * len(paths))})"
                                   " WHERE position = ?", (*paths, r.position))

    async def purge_sent(self, before: dt.datetime) -> int:
        async with self._db.connection() as conn:
            cur = await conn.execute("DELETE FROM outbox WHERE sent_at < ?", (to_us(before),))
            return cur.rowcount


def _readable_prefix(rows: Sequence[tuple]) -> list[OutboxRecord]:  # type: ignore[type-arg]
    """The records up to the first one this version cannot decode: that one (and what follows) waits
    for a process that knows its event, never lost or reordered."""
    out = []
    for position, event_id, name, occurred_at, payload in rows:
        try:
            event = event_from_record(name, event_id, from_us(occurred_at), json.loads(payload))
        except UnknownEvent:
            log.error("outbox record of an unknown event; leaving it", extra={"position": position, "event": name})
            break
        out.append(OutboxRecord(position=position, event=event))
    return out
