"""The PostgreSQL adapters against the port contracts."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from adapters.postgres.errors import translated
from adapters.postgres.meeting_queries import PostgresMeetingQueries
from adapters.postgres.meetings import PostgresMeetingRepository
from adapters.postgres.pool import open_pool
from adapters.postgres.users import PostgresUserRepository
from domain.shared.errors import AlreadyExists, InvalidArgument, Unavailable
from confero_contracts.meeting_queries import MeetingQueriesContract
from confero_contracts.meetings import MeetingRepositoryContract
from confero_contracts.factories import a_user, a_user_id
from confero_contracts.users import UserRepositoryContract
from tests.integration.postgres_fixtures import pg_pool, postgres_dsn, truncate_all  # noqa: F401

pytestmark = pytest.mark.integration


class TestPostgresUserRepository(UserRepositoryContract):
    @pytest.fixture
    async def repo(self, pg_pool):  # noqa: F811
        return PostgresUserRepository(pg_pool)


class TestPostgresMeetingRepository(MeetingRepositoryContract):
    @pytest.fixture
    async def repo(self, pg_pool):  # noqa: F811
        return PostgresMeetingRepository(pg_pool)


class TestPostgresMeetingQueries(MeetingQueriesContract):
    @pytest.fixture
    async def repo(self, pg_pool):  # noqa: F811
        return PostgresMeetingRepository(pg_pool)

    @pytest.fixture
    async def queries(self, pg_pool):  # noqa: F811
        return PostgresMeetingQueries(pg_pool)


# -- driver failures become domain errors ----------------------------------------------------------


async def test_opening_a_pool_on_a_closed_port_raises_unavailable():
    with pytest.raises(Unavailable):
        async with open_pool("postgresql://postgres@127.0.0.1:1/postgres", connect_timeout=2):
            pass


async def test_a_closed_pool_raises_unavailable(postgres_dsn):  # noqa: F811
    async with open_pool(postgres_dsn) as pool:
        repo = PostgresUserRepository(pool)
    with pytest.raises(Unavailable):
        await repo.get(a_user_id())


async def test_an_exhausted_pool_raises_unavailable_after_the_acquire_timeout(postgres_dsn):  # noqa: F811
    async with open_pool(postgres_dsn, max_size=1) as pool:
        repo = PostgresUserRepository(pool, acquire_timeout=0.2)
        async with pool.acquire():
            with pytest.raises(Unavailable):
                await repo.get(a_user_id())


async def test_a_statement_that_outlives_the_command_timeout_raises_unavailable(postgres_dsn):  # noqa: F811
    async with open_pool(postgres_dsn, command_timeout=0.3) as pool:
        repo = PostgresUserRepository(pool)
        user = a_user()
        await repo.add(user)
        async with pool.acquire() as blocker, blocker.transaction():
            await blocker.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", user.id)
            with pytest.raises(Unavailable):
                await repo.save(user)
    # Cleaning up is not what is tested: a loaded machine once took longer than the 0.3 s timeout for it.
    async with open_pool(postgres_dsn) as pool:
        await truncate_all(pool)


async def test_a_statement_whose_connection_the_server_kills_raises_unavailable(postgres_dsn):  # noqa: F811
    async with open_pool(postgres_dsn) as pool:
        repo = PostgresUserRepository(pool)
        user = a_user()
        await repo.add(user)
        async with pool.acquire() as blocker, blocker.transaction():
            await blocker.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", user.id)
            saving = asyncio.create_task(repo.save(user))
            pid = None
            while pid is None:  # wait until the save is stuck behind the row lock, then kill it
                await asyncio.sleep(0.02)
                pid = await blocker.fetchval(
                    "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")
            await blocker.execute("SELECT pg_terminate_backend($1)", pid)
            with pytest.raises(Unavailable):
                await saving
        assert await repo.get(user.id) == user  # the pool replaced the dead connection
        await truncate_all(pool)


async def test_text_with_a_nul_character_raises_invalid_argument(pg_pool):  # noqa: F811
    with pytest.raises(InvalidArgument):
        await PostgresUserRepository(pg_pool).add(a_user(display_name="nul\x00byte"))


@pytest.mark.parametrize("error", [
    asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    asyncpg.exceptions.TooManyConnectionsError("too many clients"),
    asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
    asyncpg.exceptions.UndefinedTableError("relation does not exist"),
    ConnectionRefusedError(111, "refused"),
    TimeoutError(),
])
def test_driver_failures_are_translated_to_unavailable(error):
    with pytest.raises(Unavailable) as raised:
        with translated():
            raise error
    assert raised.value.__cause__ is error


def test_a_unique_violation_of_an_unknown_constraint_is_translated_to_already_exists():
    error = asyncpg.exceptions.UniqueViolationError("duplicate key")
    with pytest.raises(AlreadyExists):
        with translated({"other_key": lambda: Unavailable()}):
            raise error
