"""The Outbox on PostgreSQL (schema: migrations/0003_outbox.sql), and how a unit writes to it."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
from collections.abc import AsyncIterator, Sequence

import asyncpg
from attrs import define, field

from adapters.metrics.event_traces import claimed, current_traceparent
from adapters.postgres.pool import acquire
from domain.shared.events import DomainEvent, UnknownEvent, event_from_record
from ports.outbox import OutboxRecord

log = logging.getLogger(__name__)
# Held for the claiming transaction: one relay publishes at a time, so rows go out in position order
# (SKIP LOCKED alone would let a second relay publish later rows of an aggregate before earlier ones).
RELAY_LOCK = 0x636F6E6665726F + 1
INSERT = ("INSERT INTO outbox (event_id, name, occurred_at, payload, trace_context)"
          " SELECT e, n, o, p, $5::text FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::jsonb[])"
          " WITH ORDINALITY AS t(e, n, o, p, i) ORDER BY i")


async def write_events(conn: asyncpg.Connection, events: Sequence[DomainEvent]) -> None:
    """Appends ``events`` in order inside the caller's transaction (one statement), with the trace they
    were written in (adapters/metrics/event_traces.py)."""
    if not events:
        return
    await conn.execute(INSERT, [e.event_id for e in events], [e.name for e in events],
                       [e.occurred_at for e in events],
                       [json.dumps(e.payload(), separators=(",", ":")) for e in events], current_traceparent())


@define
class PostgresOutboxBatch:
    """Marks are sent with the COMMIT that ends the batch, in the same round trip."""

    records: Sequence[OutboxRecord]
    sent: list[int] = field(factory=list)
    secrets: dict[int, tuple[str, ...]] = field(factory=dict)

    async def mark_sent(self, records: Sequence[OutboxRecord]) -> None:
        self.sent.extend(r.position for r in records)
        self.secrets.update((r.position, r.event.secret_fields) for r in records if r.event.secret_fields)


class PostgresOutbox:
    def __init__(self, pool: asyncpg.Pool, *, acquire_timeout: float = 5.0) -> None:
        self._pool = pool
        self._timeout = acquire_timeout

    @contextlib.asynccontextmanager
    async def claim(self, limit: int) -> AsyncIterator[PostgresOutboxBatch]:
        async with acquire(self._pool, self._timeout) as conn:
            await conn.execute("BEGIN")
            try:
                # The lock is a one-time filter of the same statement: no rows when another relay holds it.
                rows = await conn.fetch(
                    "SELECT position, event_id, name, occurred_at, payload, trace_context FROM outbox"
                    " WHERE sent_at IS NULL AND (SELECT pg_try_advisory_xact_lock($2))"
                    " ORDER BY position LIMIT $1 FOR UPDATE SKIP LOCKED", limit, RELAY_LOCK)
                claimed((r["event_id"], r["trace_context"]) for r in rows)  # for the relay's producer span
                batch = PostgresOutboxBatch(_readable_prefix(rows))
                yield batch
            except BaseException:
                with contextlib.suppress(Exception):  # else the pool's release rolls it back
                    await conn.execute("ROLLBACK")
                raise
            # Positions are integers read from the database: inlining them is safe, and lets the marks
            # and the COMMIT share one round trip (a simple query may hold several statements).
            positions = ",".join(str(int(p)) for p in batch.sent)
            mark = f"UPDATE outbox SET sent_at = now() WHERE position = ANY('{{{positions}}}'::bigint[]); " \
                if positions else ""
            await conn.execute(mark + _redactions(batch.secrets) + "COMMIT")

    async def purge_sent(self, before: dt.datetime) -> int:
        async with acquire(self._pool, self._timeout) as conn:
            status = await conn.execute("DELETE FROM outbox WHERE sent_at < $1", before)
        return int(status.rsplit(" ", 1)[-1])


def _redactions(secrets: dict[int, tuple[str, ...]]) -> str:
    """Sent rows stay until purge_sent: their one-time tokens must not (domain/shared/events.py,
    ``secret_fields``).  Field names come from event classes, positions from the database."""
    out = []
    for position, names in secrets.items():
        keys = ",".join(n for n in names if n.isidentifier())
        out.append(f"UPDATE outbox SET payload = payload - '{{{keys}}}'::text[] WHERE position = {int(position)}; ")
    return "".join(out)


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
