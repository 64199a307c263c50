"""The asyncpg pool as an async context manager (a DI Resource), and a translated acquire."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Mapping

import asyncpg

from adapters.metrics.instruments import POSTGRES_ACQUIRE
from adapters.postgres.errors import translated
from adapters.postgres.observed import observe_connection
from domain.shared.errors import DomainError

CLOSE_TIMEOUT = 10.0


class PooledConnection(asyncpg.Connection):  # type: ignore[misc]
    """Skips the reset query asyncpg sends whenever a connection goes back to the pool (one round trip
    per acquire).  Nothing here leaves session state behind: no SET, LISTEN or cursors, and the one
    session advisory lock (migrations) is released in a ``finally``.  An open transaction is still
    rolled back on release, by asyncpg itself."""

    def get_reset_query(self) -> str:
        return ""


@contextlib.asynccontextmanager
async def open_pool(dsn: str, *, min_size: int = 1, max_size: int = 10, connect_timeout: float = 5.0,
                    command_timeout: float = 10.0) -> AsyncIterator[asyncpg.Pool]:
    """Raises Unavailable when the server cannot be reached within ``connect_timeout``.

    ``command_timeout`` bounds every statement so a stuck server turns into Unavailable, not a hang.
    """
    with translated():
        pool = await asyncpg.create_pool(
            dsn, min_size=min_size, max_size=max_size, timeout=connect_timeout, command_timeout=command_timeout,
            connection_class=PooledConnection, init=observe_connection,
            server_settings={"application_name": "confero"},
        )
    try:
        yield pool
    finally:
        try:
            await asyncio.wait_for(pool.close(), CLOSE_TIMEOUT)
        except TimeoutError:  # a connection never came back: do not hang shutdown on it
            pool.terminate()


@contextlib.asynccontextmanager
async def acquire(pool: asyncpg.Pool, timeout: float,
                  unique: Mapping[str, Callable[[], DomainError]] | None = None) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection whose driver errors (in the ``async with`` body too) become domain errors."""
    with translated(unique):
        started = time.perf_counter()
        async with pool.acquire(timeout=timeout) as conn:
            POSTGRES_ACQUIRE.observe(time.perf_counter() - started)
            yield conn


def affected(status: str) -> int:
    """Row count from a command tag such as ``UPDATE 1``."""
    return int(status.rsplit(" ", 1)[-1])
