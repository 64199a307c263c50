"""PostgreSQL fixtures: one fresh, migrated database per test session; a pool per test.

Import the fixtures into a test module (``from tests.integration.postgres_fixtures import *``).
The session fixture is synchronous on purpose: asyncpg connections belong to the loop that made them,
and every test gets its own loop, so only the DSN crosses test boundaries.
"""

from __future__ import annotations

import asyncio
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from adapters.postgres.migrate import migrate
from adapters.postgres.pool import open_pool

__all__ = ["postgres_dsn", "pg_pool", "truncate_all"]
TABLES = ("users", "meetings", "meeting_attendance", "outbox", "account_links", "recordings", "notifications",
          "notification_preferences", "notification_reminders", "push_subscriptions")


def _with_database(dsn: str, database: str) -> str:
    return urllib.parse.urlsplit(dsn)._replace(path="/" + database).geturl()


async def _admin(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_dsn(postgres_server_dsn: str) -> Iterator[str]:
    name = f"confero_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(postgres_server_dsn, f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\''))
    dsn = _with_database(postgres_server_dsn, name)
    try:
        asyncio.run(migrate(dsn))
        yield dsn
    finally:
        asyncio.run(_admin(postgres_server_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def truncate_all(pool: asyncpg.Pool) -> None:
    await pool.execute(f"TRUNCATE {', '.join(TABLES)}")


@pytest.fixture
async def pg_pool(postgres_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    # Truncate before, not after: a test that crashed half-way cannot leak rows into the next one.
    async with open_pool(postgres_dsn, max_size=20) as pool:
        await truncate_all(pool)
        yield pool
