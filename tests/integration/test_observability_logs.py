"""The production all-in-one at DEBUG (asyncpg, redis-py and aiohttp log at that level too): a scripted
session with bad logins leaves no password, token, JWT secret or database password in its log."""

from __future__ import annotations

import json
import secrets
import uuid

import aiohttp
import asyncpg

from tests.support.process import allinone
from tests.support.scripted import Api, scripted_session


async def test_a_debug_session_on_postgresql_and_redis_logs_no_secret(tmp_path, postgres_server_dsn,
                                                                      redis_server_url) -> None:
    db = f"confero_logs_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres_server_dsn)
    await admin.execute(f'CREATE DATABASE "{db}"')
    jwt_secret = secrets.token_urlsafe(40)
    wrong = f"wrong-{secrets.token_hex(6)}"
    log = tmp_path / "app.log"
    try:
        env = {"APP_ADAPTERS": "production", "APP_JWT_SECRET": jwt_secret, "APP_LOG_LEVEL": "DEBUG",
               "APP_LOG_FORMAT": "json", "APP_POSTGRES_DSN": postgres_server_dsn.rsplit("/", 1)[0] + "/" + db,
               "APP_REDIS_URL": redis_server_url, "APP_METRICS_PORT": "0"}
        with allinone(env, log) as base:
            async with aiohttp.ClientSession() as s:
                api = Api(s, base)
                facts = await scripted_session(api, "l")
                for who in (facts["host"]["username"], "nobody-here"):
                    status, _ = await api.call("POST", "/api/v1/auth/login", json={"username": who, "password": wrong})
                    assert status == 401
                status, tokens = await api.call("POST", "/api/v1/auth/login", json={
                    "username": facts["host"]["username"], "password": facts["host"]["password"]})
                assert status == 200
                assert (await api.call("GET", "/api/v1/users/me", tokens["access_token"]))[0] == 200
                status, _ = await api.call("POST", "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
                assert status == 200
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()
    text = log.read_text(errors="replace")
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert any(line["level"] == "DEBUG" for line in lines)
    secrets_ = {"host password": facts["host"]["password"], "guest password": facts["guest"]["password"],
                "wrong password": wrong, "meeting password": "s3cret", "access token": tokens["access_token"],
                "refresh token": tokens["refresh_token"], "APP_JWT_SECRET": jwt_secret}
    assert [name for name, value in secrets_.items() if value in text] == []
