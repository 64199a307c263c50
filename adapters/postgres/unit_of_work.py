"""UnitOfWork on PostgreSQL.

Reads go to the pool as they come (no transaction is held open while a use case thinks); writes are
staged and sent at ``commit``.  A unit that writes one meeting (or only collects events) commits with
ONE statement (adapters/postgres/meeting_writes.py): the row's version guard, the attendance rows and
the outbox rows together.  Any other unit runs its writes in one transaction on one connection, in the
order they were made, then its outbox rows.  Either way the change and its events commit together.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg

from adapters.postgres.account_links import LinkWrite, PostgresAccountLinkReader, StagedLinks
from adapters.postgres.meeting_writes import MeetingWrite, Statement
from adapters.postgres.meetings import PostgresMeetingRepository, attendance
from adapters.postgres.outbox import write_events
from adapters.postgres.pool import acquire
from adapters.postgres.users import PostgresUserRepository
from adapters.tracking import Tracked, UnitLifecycle
from domain.meetings.errors import MeetingNotFound
from domain.meetings.model import Meeting
from domain.shared.errors import AlreadyExists, ConcurrentModification
from domain.shared.events import DomainEvent
from domain.users.model import User

_GONE = object()
UserWrite = Callable[[PostgresUserRepository], Awaitable[None]]


class BoundConnection:
    """Looks like a pool to the repositories, but always hands out the unit's connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    @contextlib.asynccontextmanager
    async def acquire(self, timeout: float | None = None) -> AsyncIterator[asyncpg.Connection]:
        yield self._conn


class _Meetings:
    """Meetings seen through a unit: reads see the unit's own writes first."""

    def __init__(self, reader: PostgresMeetingRepository, writes: list[Any]) -> None:
        self._reader = reader
        self._writes = writes
        self._staged: dict[str, Any] = {}
        self._loaded: dict[str, dict[str, Any]] = {}  # id -> attendance as loaded

    async def get(self, meeting_id: str) -> Meeting:
        staged = self._staged.get(meeting_id)
        if staged is _GONE:
            raise MeetingNotFound("no such meeting", meeting_id=meeting_id)
        if staged is not None:
            return staged.copy()
        meeting = await self._reader.get(meeting_id)
        self._loaded[meeting_id] = attendance(meeting)
        return meeting

    async def add(self, meeting: Meeting) -> None:
        self._stage(meeting.id, meeting.copy(), MeetingWrite("add", meeting.id, meeting.copy(), {}))
        self._loaded[meeting.id] = attendance(meeting)

    async def save(self, meeting: Meeting) -> None:
        if self._staged.get(meeting.id) is _GONE:
            raise MeetingNotFound("no such meeting", meeting_id=meeting.id)
        write = MeetingWrite("save", meeting.id, meeting.copy(), self._loaded.get(meeting.id))
        meeting.version += 1
        self._stage(meeting.id, meeting.copy(), write)
        self._loaded[meeting.id] = attendance(meeting)

    async def delete(self, meeting_id: str) -> None:
        await self.get(meeting_id)
        self._stage(meeting_id, _GONE, MeetingWrite("delete", meeting_id))

    def _stage(self, key: str, value: Any, write: MeetingWrite) -> None:
        self._staged[key] = value
        self._writes.append(write)


class _Users:
    """Users seen through a unit; their writes run through PostgresUserRepository at commit."""

    def __init__(self, reader: PostgresUserRepository, writes: list[Any]) -> None:
        self._reader = reader
        self._writes = writes
        self._staged: dict[str, User] = {}

    async def get(self, user_id: str) -> User:
        staged = self._staged.get(user_id)
        return staged.copy() if staged is not None else await self._reader.get(user_id)

    async def add(self, user: User) -> None:
        copy = user.copy()
        self._staged[user.id] = user.copy()
        self._writes.append(lambda repo: repo.add(copy))

    async def save(self, user: User) -> None:
        copy = user.copy()  # at the loaded version: the repository checks it at commit
        user.version += 1
        self._staged[user.id] = user.copy()
        self._writes.append(lambda repo: repo.save(copy))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)  # queries see committed state


class PostgresUnitOfWork(UnitLifecycle):
    def __init__(self, pool: asyncpg.Pool, *, acquire_timeout: float = 5.0,
                 on_commit: Callable[[], None] | None = None) -> None:
        self._pool = pool
        self._timeout = acquire_timeout
        self._on_commit = on_commit
        super().__init__()
        self._writes: list[Any] = []
        self.meetings: Any = Tracked(_Meetings(PostgresMeetingRepository(pool, acquire_timeout=acquire_timeout),
                                               self._writes), self._events)
        self.users: Any = Tracked(_Users(PostgresUserRepository(pool, acquire_timeout=acquire_timeout),
                                         self._writes), self._events)
        self.account_links: Any = StagedLinks(PostgresAccountLinkReader(pool, acquire_timeout=acquire_timeout),
                                              self._writes)

    async def commit(self) -> None:
        events = self._finish()
        if not self._writes and not events:
            return
        async with acquire(self._pool, self._timeout, _unique(self._writes)) as conn:
            if len(self._writes) <= 1 and all(isinstance(w, MeetingWrite) for w in self._writes):
                await _execute(conn, self._writes, events)
            else:
                async with conn.transaction():
                    for write in self._writes:
                        if isinstance(write, MeetingWrite):
                            await _execute(conn, [write], [])
                        elif isinstance(write, LinkWrite):
                            await write.run(conn)
                        else:
                            await write(PostgresUserRepository(BoundConnection(conn), acquire_timeout=self._timeout))
                    await write_events(conn, events)
        if self._on_commit is not None and events:
            self._on_commit()


async def _execute(conn: asyncpg.Connection, writes: list[MeetingWrite], events: list[DomainEvent]) -> None:
    statement = Statement()
    for write in writes:
        statement.add(write)
    statement.events(events)
    counts = await conn.fetchrow(statement.sql(), *statement.args)
    for (_, write), count in zip(statement.guards, counts, strict=False):
        if count == 0:
            if write.kind == "save" and await conn.fetchval("SELECT 1 FROM meetings WHERE id = $1",
                                                            write.meeting_id) is not None:
                raise ConcurrentModification("the meeting was changed by someone else")
            raise MeetingNotFound("no such meeting", meeting_id=write.meeting_id)


def _unique(writes: list[Any]) -> dict[str, Callable[[], Any]]:
    added = [w.meeting_id for w in writes if isinstance(w, MeetingWrite) and w.kind == "add"]
    return {"meetings_pkey": lambda: AlreadyExists("meeting exists", meeting_id=added[0] if added else None)}


class PostgresUnitOfWorkFactory:
    def __init__(self, pool: asyncpg.Pool, *, acquire_timeout: float = 5.0,
                 on_commit: Callable[[], None] | None = None) -> None:
        self._pool = pool
        self._timeout = acquire_timeout
        self._on_commit = on_commit

    def __call__(self) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(self._pool, acquire_timeout=self._timeout, on_commit=self._on_commit)
