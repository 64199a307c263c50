"""StoredRecordingFiles over the SQLite and PostgreSQL recording repositories (through their units of
work) against the RecordingFiles contract."""

from __future__ import annotations

import pytest

from adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory
from adapters.sqlite.unit_of_work import SqliteUnitOfWorkFactory
from confero_contracts.recording_files import RecordingFilesContract
from tests.integration.postgres_fixtures import pg_pool, postgres_dsn  # noqa: F401  (fixtures)
from tests.integration.sqlite_fixtures import sqlite_db  # noqa: F401  (a fixture)
from tests.unit.test_recording_files import StoredHarness


class TestSqliteStoredRecordingFiles(RecordingFilesContract):
    @pytest.fixture
    async def harness(self, sqlite_db):  # noqa: F811
        return StoredHarness(SqliteUnitOfWorkFactory(sqlite_db))


class TestPostgresStoredRecordingFiles(RecordingFilesContract):
    @pytest.fixture
    async def harness(self, pg_pool):  # noqa: F811
        return StoredHarness(PostgresUnitOfWorkFactory(pg_pool))
