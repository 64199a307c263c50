"""The SQLite RecordingRepository against its contract."""

from __future__ import annotations

import pytest

from adapters.sqlite.recordings import SqliteRecordingRepository
from adapters.sqlite.unit_of_work import SqliteUnitOfWorkFactory
from confero_contracts.recordings import RecordingRepositoryContract
from tests.integration.sqlite_fixtures import sqlite_db  # noqa: F401  (a fixture)


class TestSqliteRecordingRepository(RecordingRepositoryContract):
    @pytest.fixture
    async def repo(self, sqlite_db):  # noqa: F811
        return SqliteRecordingRepository(sqlite_db)

    @pytest.fixture
    async def units(self, sqlite_db):  # noqa: F811
        return SqliteUnitOfWorkFactory(sqlite_db)
