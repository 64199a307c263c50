"""UnitOfWork on PostgreSQL: one pooled connection in one transaction; repositories bound to it; the
unit's events are inserted into the outbox just before COMMIT."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Any

import asyncpg

from adapters.postgres.errors import translated
from adapters.postgres.meetings import PostgresMeetingRepository
from adapters.postgres.outbox import write_events
from adapters.postgres.users import PostgresUserRepository
from adapters.tracking import EventBuffer, Tracked
from domain.shared.events import DomainEvent


class BoundConnection:
    """Looks like a pool to the repositories, but always hands out the unit's connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    @contextlib.asynccontextmanager
    async def acquire(self, timeout: float | None = None) -> AsyncIterator[asyncpg.Connection]:
        yield self._conn


class PostgresUnitOfWork:
    def __init__(self, pool: asyncpg.Pool, *, acquire_timeout: float = 5.0,
                 on_commit: Callable[[], None] | None = None) -> None:
        self._pool = pool
        self._timeout = acquire_timeout
        self._on_commit = on_commit
        self._events = EventBuffer()
        self._conn: Any = None
        self._tx: Any = None
        self._done = False
        self.meetings: Any = None
        self.users: Any = None

    async def __aenter__(self) -> PostgresUnitOfWork:
        with translated():
            self._conn = await self._pool.acquire(timeout=self._timeout)
            try:
                self._tx = self._conn.transaction()
                await self._tx.start()
            except BaseException:
                await self._pool.release(self._conn)
                raise
        bound: Any = BoundConnection(self._conn)
        self.meetings = Tracked(PostgresMeetingRepository(bound, acquire_timeout=self._timeout, lock=True),
                                self._events)
        self.users = Tracked(PostgresUserRepository(bound, acquire_timeout=self._timeout), self._events)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        try:
            if not self._done:
                self._done = True
                with contextlib.suppress(Exception):  # a broken connection rolled back by itself
                    await self._tx.rollback()
        finally:
            await self._pool.release(self._conn)

    def collect(self, *events: DomainEvent) -> None:
        self._events(*events)

    async def commit(self) -> None:
        if self._done:
            raise RuntimeError("this unit of work is finished")
        self._done = True
        try:
            with translated():
                await write_events(self._conn, self._events.events)
                await self._tx.commit()
        except BaseException:
            with contextlib.suppress(Exception):
                await self._tx.rollback()
            raise
        if self._on_commit is not None and self._events.events:
            self._on_commit()


class PostgresUnitOfWorkFactory:
    def __init__(self, pool: asyncpg.Pool, *, acquire_timeout: float = 5.0,
                 on_commit: Callable[[], None] | None = None) -> None:
        self._pool = pool
        self._timeout = acquire_timeout
        self._on_commit = on_commit

    def __call__(self) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(self._pool, acquire_timeout=self._timeout, on_commit=self._on_commit)
