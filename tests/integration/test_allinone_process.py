"""The all-in-one process, started as `make run` starts it, driven with plain HTTP."""

from __future__ import annotations

import secrets
import uuid

import aiohttp
import asyncpg

from tests.support.process import allinone
from tests.support.scripted import Api, check_session_survived, scripted_session


async def test_the_scripted_session_works_on_embedded_defaults(tmp_path):
    with allinone({"APP_ADAPTERS": "memory"}, tmp_path / "allinone.log") as base:
        async with aiohttp.ClientSession() as s:
            await scripted_session(Api(s, base), "m")


async def test_production_mode_serves_the_session_and_keeps_data_across_a_restart(tmp_path, postgres_server_dsn,
                                                                                  redis_server_url):
    db = f"confero_e2e_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres_server_dsn)
    await admin.execute(f'CREATE DATABASE "{db}"')
    try:
        dsn = postgres_server_dsn.rsplit("/", 1)[0] + "/" + db
        env = {"APP_ADAPTERS": "production", "APP_JWT_SECRET": secrets.token_urlsafe(40),
               "APP_POSTGRES_DSN": dsn, "APP_REDIS_URL": redis_server_url}
        with allinone(env, tmp_path / "first.log") as base:
            async with aiohttp.ClientSession() as s:
                facts = await scripted_session(Api(s, base), "p")
        with allinone(env, tmp_path / "second.log") as base:
            async with aiohttp.ClientSession() as s:
                await check_session_survived(Api(s, base), facts)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()


async def test_production_mode_refuses_to_start_without_its_secret(tmp_path):
    import subprocess
    import sys

    from tests.support.process import ROOT

    result = subprocess.run([sys.executable, "-m", "runners.allinone"], cwd=ROOT, capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "APP_ADAPTERS": "production"}, timeout=30)
    assert result.returncode == 2
    assert "APP_JWT_SECRET is required" in result.stderr


async def test_production_mode_exits_with_a_clear_line_when_its_database_is_unreachable():
    import subprocess
    import sys

    from tests.support.process import ROOT, free_port

    env = {"PATH": "/usr/bin:/bin", "APP_ADAPTERS": "production", "APP_JWT_SECRET": secrets.token_urlsafe(40),
           "APP_POSTGRES_DSN": f"postgresql://postgres@127.0.0.1:{free_port()}/x",
           "APP_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    result = subprocess.run([sys.executable, "-m", "runners.allinone"], cwd=ROOT, capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 3
    assert "cannot start: the database is unavailable" in result.stderr
