"""The owner's lease of a recording with two processes over one real PostgreSQL (scenarios in
tests/support/recording_leases.py): what a restarting process may recover, and who stops what."""

from __future__ import annotations

import pytest

from adapters.postgres.meetings import PostgresMeetingRepository
from adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory
from tests.integration.postgres_fixtures import pg_pool, postgres_dsn  # noqa: F401
from tests.support.recording_leases import SCENARIOS, TwoProcesses


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
async def test_two_processes(scenario, pg_pool):  # noqa: F811
    await scenario(TwoProcesses(PostgresUnitOfWorkFactory(pg_pool), PostgresMeetingRepository(pg_pool).add))
