"""The SQLite unit of work and outbox against the same contract as the memory and PostgreSQL ones."""

from __future__ import annotations

import pytest
from attrs import define

from adapters.sqlite.database import open_database
from adapters.sqlite.meetings import SqliteMeetingRepository
from adapters.sqlite.outbox import SqliteOutbox
from adapters.sqlite.unit_of_work import SqliteUnitOfWorkFactory
from adapters.sqlite.users import SqliteUserRepository
from domain.messaging.relay import OutboxRelay
from confero_contracts.events import happened
from confero_contracts.factories import a_meeting
from confero_contracts.outbox import Publisher, UnitOfWorkContract, pending
from tests.integration.sqlite_fixtures import sqlite_db  # noqa: F401  (a fixture)


@define
class SqliteFamily:
    meetings: SqliteMeetingRepository
    users: SqliteUserRepository
    outbox: SqliteOutbox
    uow: SqliteUnitOfWorkFactory


class TestSqliteUnitOfWork(UnitOfWorkContract):
    @pytest.fixture
    async def family(self, sqlite_db):
        return SqliteFamily(SqliteMeetingRepository(sqlite_db), SqliteUserRepository(sqlite_db),
                            SqliteOutbox(sqlite_db), SqliteUnitOfWorkFactory(sqlite_db))


async def test_the_commit_wakes_the_relay_only_when_it_has_events(sqlite_db):
    woken: list[int] = []
    uow = SqliteUnitOfWorkFactory(sqlite_db, on_commit=lambda: woken.append(1))
    async with uow() as unit:
        await unit.meetings.add(a_meeting())  # a change without events
        await unit.commit()
    async with uow() as unit:
        unit.collect(happened(1))
        await unit.commit()
    assert woken == [1]


async def test_committed_unsent_events_survive_a_restart_and_are_relayed_then(tmp_path):
    """The process stopped after the commit and before the relay: the next process publishes them."""
    path = str(tmp_path / "outbox.sqlite3")
    async with open_database(path) as db:
        for n in range(3):
            async with SqliteUnitOfWorkFactory(db)() as unit:
                unit.collect(happened(n))
                await unit.commit()
    async with open_database(path) as db:
        publisher = Publisher()
        assert await OutboxRelay(outbox=SqliteOutbox(db), publisher=publisher).drain() == 3
        assert [e.payload()["n"] for e in publisher.published] == [0, 1, 2]
        assert await pending(SqliteOutbox(db)) == []
