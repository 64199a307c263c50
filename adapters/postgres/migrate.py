"""Applies adapters/postgres/migrations/NNNN_*.sql in order, each once, each in its own transaction."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

from adapters.postgres.errors import UNREACHABLE, translated
from domain.shared.errors import Unavailable

MIGRATIONS = Path(__file__).with_name("migrations")
# Any fixed bigint shared by every process of this application: it serialises concurrent migrators.
LOCK_KEY = 0x636F6E6665726F  # "confero"
log = logging.getLogger(__name__)


def pending_files(applied: set[str], directory: Path = MIGRATIONS) -> list[Path]:
    return [p for p in sorted(directory.glob("[0-9][0-9][0-9][0-9]_*.sql")) if p.stem not in applied]


@contextlib.asynccontextmanager
async def _connection(dsn_or_pool: str | asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    if isinstance(dsn_or_pool, asyncpg.Pool):
        async with dsn_or_pool.acquire() as conn:
            yield conn
        return
    with translated():  # a wrong database name is as fatal here as an unreachable server
        conn = await asyncpg.connect(dsn_or_pool, timeout=10)
    try:
        yield conn
    finally:
        await conn.close()


async def migrate(dsn_or_pool: str | asyncpg.Pool, directory: Path = MIGRATIONS) -> list[str]:
    """Returns the names applied now ([] when the schema was current). Raises Unavailable when the
    database cannot be reached.  A failing migration rolls back alone, stops the run and raises the
    driver's error as is: an operator has to read it, no caller can handle it."""
    try:
        async with _connection(dsn_or_pool) as conn:
            # A session lock: a second migrator waits here, then finds everything applied.  It is
            # released with the session too, should this process die half-way.
            await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
            try:
                return await _apply(conn, directory)
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
    except UNREACHABLE as exc:
        raise Unavailable("the database is unavailable", reason=type(exc).__name__) from exc


async def _apply(conn: asyncpg.Connection, directory: Path) -> list[str]:
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
    applied = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
    done = []
    for path in pending_files(applied, directory):
        async with conn.transaction():
            await conn.execute(path.read_text(encoding="utf-8"))
            await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", path.stem)
        log.info("applied migration %s", path.stem)
        done.append(path.stem)
    return done
