"""PostgreSQL metrics and readiness: statement times from asyncpg's query logger, the pool's state read
at scrape time (not on every acquire), the outbox backlog, and a readiness probe."""

from __future__ import annotations

import asyncpg

from adapters.metrics import instruments as m
from adapters.postgres.errors import translated


def _statement_done(record: asyncpg.connection.LoggedQuery) -> None:
    m.POSTGRES_QUERY.observe(record.elapsed)
    if record.exception is not None:
        m.POSTGRES_QUERY_ERRORS.inc()


async def observe_connection(conn: asyncpg.Connection) -> None:
    """The pool's ``init``: every new connection reports its statements' times."""
    conn.add_query_logger(_statement_done)


def pool_gauges(pool: asyncpg.Pool) -> None:
    idle = pool.get_idle_size()
    m.POSTGRES_POOL_CONNECTIONS.labels("idle").set(idle)
    m.POSTGRES_POOL_CONNECTIONS.labels("in_use").set(pool.get_size() - idle)
    m.POSTGRES_POOL_MAX.set(pool.get_max_size())


async def scrape(pool: asyncpg.Pool) -> None:
    """Run before each scrape: the pool gauges and the unsent outbox rows (an index-only count)."""
    pool_gauges(pool)
    with translated():
        m.OUTBOX_PENDING.set(await pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL", timeout=2))


async def ready(pool: asyncpg.Pool) -> None:
    """Raises Unavailable when no connection answers a trivial statement."""
    with translated():
        await pool.fetchval("SELECT 1", timeout=2)
