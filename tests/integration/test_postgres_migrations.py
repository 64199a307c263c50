"""Schema migrations: in order, once, recorded, safe to run twice and from two processes at once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from adapters.postgres.migrate import MIGRATIONS, migrate
from adapters.postgres.pool import open_pool
from domain.shared.errors import Unavailable
from tests.integration.postgres_fixtures import _with_database

pytestmark = pytest.mark.integration
ALL = sorted(p.stem for p in MIGRATIONS.glob("[0-9][0-9][0-9][0-9]_*.sql"))
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def empty_dsn(postgres_server_dsn: str) -> AsyncIterator[str]:
    name = f"confero_migrate_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres_server_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        yield _with_database(postgres_server_dsn, name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def recorded(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return [r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations ORDER BY name")]
    finally:
        await conn.close()


def test_there_are_migrations_numbered_without_gaps():
    assert [int(name[:4]) for name in ALL] == list(range(1, len(ALL) + 1))


async def test_a_fresh_database_gets_every_migration_in_order_and_records_them(empty_dsn):
    assert await migrate(empty_dsn) == ALL
    assert await recorded(empty_dsn) == ALL


async def test_migrating_twice_applies_nothing_the_second_time(empty_dsn):
    await migrate(empty_dsn)
    assert await migrate(empty_dsn) == []
    assert await recorded(empty_dsn) == ALL


async def test_migrate_accepts_a_pool(empty_dsn):
    async with open_pool(empty_dsn) as pool:
        assert await migrate(pool) == ALL
        assert await migrate(pool) == []


async def test_migrators_starting_together_apply_each_migration_once(empty_dsn):
    results = await asyncio.gather(*(migrate(empty_dsn) for _ in range(4)))
    assert sorted(name for applied in results for name in applied) == ALL
    assert await recorded(empty_dsn) == ALL


async def test_a_failing_migration_rolls_back_alone_and_stops_the_run(empty_dsn, tmp_path):
    (tmp_path / "0001_ok.sql").write_text("CREATE TABLE t_ok (id int);")
    (tmp_path / "0002_bad.sql").write_text("CREATE TABLE t_half (id int); SELECT no_such_function();")
    (tmp_path / "0003_later.sql").write_text("CREATE TABLE t_later (id int);")
    with pytest.raises(asyncpg.PostgresError):
        await migrate(empty_dsn, tmp_path)
    assert await recorded(empty_dsn) == ["0001_ok"]
    conn = await asyncpg.connect(empty_dsn)
    try:
        assert await conn.fetchval("SELECT to_regclass('t_half')") is None
        assert await conn.fetchval("SELECT to_regclass('t_later')") is None
    finally:
        await conn.close()


async def test_an_unreachable_server_raises_unavailable():
    with pytest.raises(Unavailable):
        await migrate("postgresql://postgres@127.0.0.1:1/postgres")


def test_the_runner_prints_what_it_applied_and_then_that_nothing_is_pending(empty_dsn):
    env = {**os.environ, "APP_POSTGRES_DSN": empty_dsn}
    run = lambda: subprocess.run([sys.executable, "-m", "runners.migrate"], cwd=ROOT, env=env,  # noqa: E731
                                 capture_output=True, text=True, timeout=60)
    first, second = run(), run()
    assert first.returncode == 0, first.stderr
    assert first.stdout.split() == [word for name in ALL for word in ("applied", name)]
    assert (second.returncode, second.stdout.strip()) == (0, "schema is up to date")


def test_the_runner_fails_without_a_dsn():
    env = {k: v for k, v in os.environ.items() if k != "APP_POSTGRES_DSN"}
    done = subprocess.run([sys.executable, "-m", "runners.migrate"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "APP_POSTGRES_DSN" in done.stderr


async def test_attendance_moves_from_the_meeting_arrays_into_rows(empty_dsn, tmp_path):
    """0004 turns the participant and attendee arrays of existing meetings into attendance rows."""
    import shutil

    from adapters.postgres.meetings import PostgresMeetingRepository
    from confero_contracts.factories import a_busy_meeting

    for path in sorted(MIGRATIONS.glob("000[1-3]_*.sql")):
        shutil.copy(path, tmp_path / path.name)
    await migrate(empty_dsn, tmp_path)
    meeting = a_busy_meeting()
    ids = sorted(meeting.participants)
    conn = await asyncpg.connect(empty_dsn)
    try:
        await conn.execute(
            "INSERT INTO meetings VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,"
            " $18, $19, $20, $21, $22, $23, $24, $25)",
            meeting.id, meeting.host_id, meeting.title, meeting.description, meeting.start_time,
            meeting.duration_minutes, meeting.capacity, meeting.password_hash, meeting.settings.mute_on_join,
            meeting.settings.allow_recording, meeting.settings.invite_only, meeting.status.value, meeting.locked,
            sorted(meeting.co_hosts), sorted(meeting.invited_users), sorted(meeting.invited_emails),
            sorted(meeting.kicked), sorted(meeting.attendees), ids, [meeting.participants[u].joined_at for u in ids],
            meeting.created_at, meeting.updated_at, meeting.started_at, meeting.ended_at, meeting.version)
    finally:
        await conn.close()
    assert await migrate(empty_dsn) == [p for p in ALL if p >= "0004"]
    async with open_pool(empty_dsn) as pool:
        assert await PostgresMeetingRepository(pool).get(meeting.id) == _as_migrated(meeting)


async def test_kicked_users_stop_counting_as_attendees_of_existing_meetings(empty_dsn, tmp_path):
    """0006 removes attendance rows that rows written before the rule kept for kicked users."""
    import shutil

    from adapters.postgres.meetings import PostgresMeetingRepository
    from confero_contracts.factories import a_busy_meeting

    # 0011 and 0013 too: the repository of today writes the rows this test starts from.
    for path in sorted([*MIGRATIONS.glob("000[1-5]_*.sql"), *MIGRATIONS.glob("0011_*.sql"),
                        *MIGRATIONS.glob("0013_*.sql")]):
        shutil.copy(path, tmp_path / path.name)
    await migrate(empty_dsn, tmp_path)
    meeting = a_busy_meeting()
    [kicked] = meeting.kicked
    async with open_pool(empty_dsn) as pool:
        await PostgresMeetingRepository(pool).add(meeting)
        await pool.execute("INSERT INTO meeting_attendance (meeting_id, user_id, joined_at) VALUES ($1, $2, NULL)",
                           meeting.id, kicked)
    assert await migrate(empty_dsn) == [p for p in ALL if p >= "0006" and not p.startswith(("0011", "0013"))]
    async with open_pool(empty_dsn) as pool:
        assert await PostgresMeetingRepository(pool).get(meeting.id) == meeting
        assert await pool.fetchval("SELECT count(*) FROM meeting_attendance WHERE user_id = $1", kicked) == 0


def _as_migrated(meeting):
    """Rows written before 0011 and 0013 take allow_analysis's default (on) and captions_on's (off),
    whatever the builder chose."""
    import attrs

    migrated = meeting.copy()
    migrated.settings = attrs.evolve(meeting.settings, allow_analysis=True)
    migrated.captions_on = False
    return migrated
