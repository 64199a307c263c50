"""The PostgreSQL adapters tell the caller's bad data (422) from an outage (503), without an alert."""

from __future__ import annotations

import logging

import asyncpg
import pytest

from adapters.postgres.errors import translated
from adapters.postgres.meetings import PostgresMeetingRepository
from adapters.postgres.users import PostgresUserRepository
from domain.shared.errors import InvalidArgument, Unavailable
from confero_contracts.factories import a_meeting, a_user
from tests.integration.postgres_fixtures import pg_pool, postgres_dsn  # noqa: F401

pytestmark = pytest.mark.integration
SURROGATE = "\ud800"  # valid JSON ("\ud800"), not valid text


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("field", ["username", "email", "display_name"])
async def test_a_user_with_a_lone_surrogate_is_invalid_data_not_an_outage(pg_pool, caplog, field):  # noqa: F811
    with pytest.raises(InvalidArgument):
        await PostgresUserRepository(pg_pool).add(a_user(**{field: f"x{SURROGATE}"}))
    assert errors_logged(caplog) == []


@pytest.mark.parametrize("field", ["title", "description"])
async def test_a_meeting_with_a_lone_surrogate_is_invalid_data_not_an_outage(pg_pool, caplog, field):  # noqa: F811
    with pytest.raises(InvalidArgument):
        await PostgresMeetingRepository(pg_pool).add(a_meeting(**{field: f"x{SURROGATE}"}))
    assert errors_logged(caplog) == []


async def test_every_data_exception_from_the_server_is_invalid_argument(pg_pool):  # noqa: F811
    statements = [("SELECT $1::int", 2**40), ("SELECT 1 / $1::int", 0), ("SELECT $1::text::int", "seven"),
                  ("SELECT $1::text::date", "2031-02-30"), ("SELECT chr(0)", None)]
    for sql, arg in statements:
        with pytest.raises(InvalidArgument):
            with translated():
                await (pg_pool.fetchval(sql, arg) if arg is not None else pg_pool.fetchval(sql))


async def test_check_and_not_null_violations_are_invalid_argument(pg_pool):  # noqa: F811
    async with pg_pool.acquire() as conn:
        await conn.execute("CREATE TEMP TABLE t (n int NOT NULL CHECK (n > 0))")
        for value in (None, -1):
            with pytest.raises(InvalidArgument):
                with translated():
                    await conn.execute("INSERT INTO t VALUES ($1)", value)


def test_an_unexpected_server_error_is_still_an_outage_with_a_traceback(caplog):
    with pytest.raises(Unavailable):
        with translated():
            raise asyncpg.exceptions.UndefinedColumnError("column does not exist")
    assert errors_logged(caplog) == ["unexpected database error"]
