"""The Outbox on PostgreSQL (schema: migrations/0003_outbox.sql), and how a unit writes to it."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
from collections.abc import AsyncIterator, Sequence

import asyncpg
from attrs import define

from adapters.postgres.errors import translated
from adapters.postgres.pool import acquire
from domain.shared.events import DomainEvent, UnknownEvent, event_from_record
from ports.outbox import OutboxRecord

log = logging.getLogger(__name__)
# Held for the claiming transaction: one relay publishes at a time, so rows go out in position order
# (SKIP LOCKED alone would let a second relay publish later rows of an aggregate before earlier ones).
RELAY_LOCK = 0x636F6E6665726F + 1
INSERT = ("INSERT INTO outbox (event_id, name, occurred_at, payload)"
          " SELECT e, n, o, p FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::jsonb[])"
          " WITH ORDINALITY AS t(e, n, o, p, i) ORDER BY i")


async def write_events(conn: asyncpg.Connection, events: Sequence[DomainEvent]) -> None:
    """Appends ``events`` in order inside the caller's transaction (one statement)."""
    if not events:
        return
    await conn.execute(INSERT, [e.event_id for e in events], [e.name for e in events],
                       [e.occurred_at for e in events],
                       [json.dumps(e.payload(), separators=(",", ":")) for e in events])


@define
class PostgresOutboxBatch:
    records: Sequence[OutboxRecord]
    _conn: asyncpg.Connection | None

    async def mark_sent(self, records: Sequence[OutboxRecord]) -> None:
        if not records or self._conn is None:
            return
        with translated():
            await self._conn.execute("UPDATE outbox SET sent_at = now() WHERE position = ANY($1::bigint[])",
                                     [r.position for r in records])


class PostgresOutbox:
    def __init__(self, pool: asyncpg.Pool, *, acquire_timeout: float = 5.0) -> None:
        self._pool = pool
        self._timeout = acquire_timeout

    @contextlib.asynccontextmanager
    async def claim(self, limit: int) -> AsyncIterator[PostgresOutboxBatch]:
        async with acquire(self._pool, self._timeout) as conn, conn.transaction():
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", RELAY_LOCK):
                yield PostgresOutboxBatch([], None)
                return
            rows = await conn.fetch(
                "SELECT position, event_id, name, occurred_at, payload FROM outbox WHERE sent_at IS NULL"
                " ORDER BY position LIMIT $1 FOR UPDATE SKIP LOCKED", limit)
            yield PostgresOutboxBatch(_readable_prefix(rows), conn)

    async def purge_sent(self, before: dt.datetime) -> int:
        async with acquire(self._pool, self._timeout) as conn:
            status = await conn.execute("DELETE FROM outbox WHERE sent_at < $1", before)
        return int(status.rsplit(" ", 1)[-1])


def _readable_prefix(rows: Sequence[asyncpg.Record]) -> list[OutboxRecord]:
    """The records up to the first one this version cannot decode: that one (and what follows) waits
    for a relay that knows its event (a newer process during a rolling deploy), never lost or reordered."""
    out = []
    for r in rows:
        try:
            event = event_from_record(r["name"], r["event_id"], r["occurred_at"], json.loads(r["payload"]))
        except UnknownEvent:
            log.error("outbox record of an unknown event; leaving it for another relay",
                      extra={"position": r["position"], "event": r["name"]})
            break
        out.append(OutboxRecord(position=r["position"], event=event))
    return out
