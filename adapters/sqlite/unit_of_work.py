"""UnitOfWork on SQLite: changes are staged in the unit and written, with the unit's events appended
to the outbox, in one transaction at commit.

Why staged rather than a transaction held from the start: one connection serves the whole process
(database.py), and a use case may read through the plain repositories while its unit is open (the
meeting service looks the caller's email up); a transaction held across the use case would make those
reads wait for the unit that waits for them.  Versions are checked when a save is staged (so a service
retries early) and again by the UPDATE at commit, which is what makes a conflicting commit fail whole.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import aiosqlite

from adapters.sqlite.account_links import SqliteAccountLinkReader, StagedLinks
from adapters.sqlite.database import SqliteDatabase
from adapters.sqlite.meetings import SqliteMeetingRepository, delete_meeting, insert_meeting, update_meeting
from adapters.sqlite.outbox import write_events
from adapters.sqlite.users import SqliteUserRepository, insert_user, update_user
from adapters.tracking import Tracked, UnitLifecycle
from domain.meetings.errors import MeetingNotFound
from domain.shared.errors import ConcurrentModification, DomainError
from domain.users.errors import UserNotFound

Write = Callable[[aiosqlite.Connection], Awaitable[None]]
_GONE = object()


class _Staged:
    """A repository seen through a unit: reads see the unit's own writes, writes wait for the commit;
    queries (lists, searches, lookups) see committed state only."""

    def __init__(self, plain: Any, not_found: Callable[[str], DomainError], writes: list[Write],
                 insert: Any, update: Any, delete: Any = None) -> None:
        self._plain = plain
        self._not_found = not_found
        self._writes = writes
        self._insert, self._update, self._delete = insert, update, delete
        self._staged: dict[str, Any] = {}

    async def get(self, key: str) -> Any:
        staged = self._staged.get(key)
        if staged is _GONE:
            raise self._not_found(key)
        return staged.copy() if staged is not None else await self._plain.get(key)

    async def add(self, aggregate: Any) -> None:
        stored = aggregate.copy()
        self._stage(aggregate.id, stored, lambda conn: self._insert(conn, stored))

    async def save(self, aggregate: Any) -> None:
        current = await self.get(aggregate.id)
        if current.version != aggregate.version:
            raise ConcurrentModification("changed by someone else")
        stored = aggregate.copy()  # at the loaded version: the UPDATE checks it again at commit
        aggregate.version += 1
        self._stage(aggregate.id, aggregate.copy(), lambda conn: self._update(conn, stored))

    async def delete(self, key: str) -> None:
        await self.get(key)
        self._stage(key, _GONE, lambda conn: self._delete(conn, key))

    def _stage(self, key: str, value: Any, write: Write) -> None:
        self._staged[key] = value
        self._writes.append(write)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._plain, name)


class SqliteUnitOfWork(UnitLifecycle):
    def __init__(self, db: SqliteDatabase, on_commit: Callable[[], None] | None = None,
                 now: Callable[[], dt.datetime] | None = None) -> None:
        self._db = db
        self._on_commit = on_commit
        self._now = now or (lambda: dt.datetime.now(dt.timezone.utc))
        self._writes: list[Write] = []
        super().__init__()
        self.meetings: Any = Tracked(_Staged(
            SqliteMeetingRepository(db), lambda k: MeetingNotFound("no such meeting", meeting_id=k), self._writes,
            insert_meeting, update_meeting, delete_meeting), self._events)
        self.users: Any = Tracked(_Staged(
            SqliteUserRepository(db), lambda k: UserNotFound("no such user", user_id=k), self._writes,
            insert_user, update_user), self._events)
        self.account_links: Any = StagedLinks(SqliteAccountLinkReader(db), self._writes)

    async def commit(self) -> None:
        events = self._finish()
        if not self._writes and not events:
            return
        async with self._db.transaction() as conn:
            for write in self._writes:
                await write(conn)
            await write_events(conn, events, self._now())
        if self._on_commit is not None and events:
            self._on_commit()


class SqliteUnitOfWorkFactory:
    def __init__(self, db: SqliteDatabase, on_commit: Callable[[], None] | None = None) -> None:
        self._db = db
        self._on_commit = on_commit

    def __call__(self) -> SqliteUnitOfWork:
        return SqliteUnitOfWork(self._db, self._on_commit)
