"""The PostgreSQL RecordingRepository against its contract: the partial unique index is what lets
exactly one of several racing processes start a meeting's recording."""

from __future__ import annotations

import pytest

from adapters.postgres.recordings import PostgresRecordingRepository
from adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory
from confero_contracts.recordings import RecordingRepositoryContract
from tests.integration.postgres_fixtures import pg_pool, postgres_dsn  # noqa: F401


class TestPostgresRecordingRepository(RecordingRepositoryContract):
    @pytest.fixture
    async def repo(self, pg_pool):  # noqa: F811
        return PostgresRecordingRepository(pg_pool)

    @pytest.fixture
    async def units(self, pg_pool):  # noqa: F811
        return PostgresUnitOfWorkFactory(pg_pool)
