"""The SQLite adapters against the same contract suites as the memory and production families."""

from __future__ import annotations

import pytest

from adapters.memory.throttle import InMemoryLoginThrottle
from adapters.sqlite.meeting_queries import SqliteMeetingQueries
from adapters.sqlite.meetings import SqliteMeetingRepository
from adapters.sqlite.sessions import SqliteSessionStore
from adapters.sqlite.users import SqliteUserRepository
from confero_contracts.login_races import LoginRaceSuite
from confero_contracts.meeting_queries import MeetingQueriesContract
from confero_contracts.meetings import MeetingRepositoryContract
from confero_contracts.sessions import SessionStoreContract
from confero_contracts.users import UserRepositoryContract
from tests.integration.sqlite_fixtures import sqlite_db  # noqa: F401  (a fixture)


class TestSqliteUserRepository(UserRepositoryContract):
    @pytest.fixture
    async def repo(self, sqlite_db):
        return SqliteUserRepository(sqlite_db)


class TestSqliteSessionStore(SessionStoreContract):
    @pytest.fixture
    async def store(self, sqlite_db):
        return SqliteSessionStore(sqlite_db)


class TestSqliteMeetingRepository(MeetingRepositoryContract):
    @pytest.fixture
    async def repo(self, sqlite_db):
        return SqliteMeetingRepository(sqlite_db)


class TestSqliteMeetingQueries(MeetingQueriesContract):
    @pytest.fixture
    async def repo(self, sqlite_db):
        return SqliteMeetingRepository(sqlite_db)

    @pytest.fixture
    async def queries(self, sqlite_db):
        return SqliteMeetingQueries(sqlite_db)


class TestSqliteLoginRaces(LoginRaceSuite):
    """Sessions in SQLite, the throttle in memory: the SQLite family's pairing."""

    @pytest.fixture
    async def stores(self, sqlite_db):
        return SqliteSessionStore(sqlite_db), InMemoryLoginThrottle()
