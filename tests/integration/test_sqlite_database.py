"""What the SQLite family adds beyond the contracts: the file is the store, and failures are domain errors."""

from __future__ import annotations

import datetime as dt

import aiosqlite
import pytest

from adapters.sqlite.database import migrate, migrations, open_database
from adapters.sqlite.sessions import SqliteSessionStore
from adapters.sqlite.users import SqliteUserRepository
from domain.shared.errors import Unavailable
from domain.shared.ids import new_id
from domain.shared.pagination import PageRequest
from confero_contracts.factories import a_user
from confero_contracts.sessions import a_session


async def test_users_and_sessions_survive_closing_and_reopening_the_file(tmp_path):
    path = str(tmp_path / "kept.sqlite3")
    user, now = a_user(), dt.datetime.now(dt.timezone.utc)
    session = a_session(now, user_id=user.id)
    async with open_database(path) as db:
        await SqliteUserRepository(db).add(user)
        await SqliteSessionStore(db).create(session)
    async with open_database(path) as db:
        assert await SqliteUserRepository(db).get(user.id) == user
        assert await SqliteSessionStore(db).get(session.id, now) == session


async def test_reopening_a_migrated_file_applies_no_migration_again(tmp_path):
    path = str(tmp_path / "twice.sqlite3")
    async with open_database(path):
        pass
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        assert await migrate(conn) == []
        async with conn.execute("PRAGMA user_version") as cur:
            assert (await cur.fetchone())[0] == migrations()[-1][0]


async def test_a_file_that_cannot_be_opened_raises_unavailable(tmp_path):
    with pytest.raises(Unavailable):
        async with open_database(str(tmp_path / "no" / "such" / "folder" / "x.sqlite3")):
            pass


async def test_a_closed_database_raises_unavailable_not_a_driver_error(tmp_path):
    async with open_database(str(tmp_path / "closed.sqlite3")) as db:
        users = SqliteUserRepository(db)
    with pytest.raises(Unavailable):
        await users.find_by_email("anyone@example.com")


async def test_a_transaction_that_raises_leaves_nothing_behind(tmp_path):
    async with open_database(str(tmp_path / "rollback.sqlite3")) as db:
        with pytest.raises(RuntimeError):
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO session_floors (user_id, floor) VALUES (?, 1)", (new_id(),))
                raise RuntimeError("the use case failed after writing")
        async with db.connection() as conn:
            async with conn.execute("SELECT count(*) FROM session_floors") as cur:
                assert (await cur.fetchone())[0] == 0


async def test_a_file_open_in_one_place_is_refused_to_a_second_opener(tmp_path):
    path = str(tmp_path / "mine.sqlite3")
    async with open_database(path) as db:
        with pytest.raises(Unavailable, match="in use by another process"):
            async with open_database(path, busy_timeout_ms=100):
                pass
        await SqliteUserRepository(db).add(a_user())  # the first opener is unharmed
    async with open_database(path, busy_timeout_ms=100) as again:  # and the file is free once closed
        assert (await SqliteUserRepository(again).search("", PageRequest())).total == 1
