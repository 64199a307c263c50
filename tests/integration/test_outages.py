"""PostgreSQL or Redis going away under load: fast 503s, recovery without a restart, nothing lost."""

from __future__ import annotations

import asyncio
import secrets
import time

import pytest
from aiohttp.test_utils import TestClient, TestServer

from runners.serve import composed
from runners.settings import Settings
from runners.web.app import create_app
from tests.support.servers import PrivatePostgres, PrivateRedis

REQUEST_BOUND = 8.0  # a hang would show up as a request slower than this


@pytest.fixture
def servers():
    pg, redis = PrivatePostgres(), PrivateRedis()
    pg.start()
    redis.start()
    yield pg, redis
    pg.destroy()
    redis.destroy()


@pytest.fixture
async def client(servers):
    pg, redis = servers
    settings = Settings.from_env({
        "APP_ADAPTERS": "production", "APP_JWT_SECRET": secrets.token_urlsafe(40),
        "APP_POSTGRES_DSN": pg.dsn, "APP_REDIS_URL": redis.url, "APP_LOG_LEVEL": "CRITICAL"})
    async with composed(settings) as (_, services):
        async with TestClient(TestServer(create_app(services, settings))) as c:
            yield c


async def _token(client: TestClient) -> str:
    user = {"username": "olga", "email": "olga@example.com", "password": "correct horse"}
    assert (await client.post("/api/v1/auth/register", json=user)).status == 201
    r = await client.post("/api/v1/auth/login", json={"username": "olga", "password": "correct horse"})
    return (await r.json())["access_token"]


async def _create(client: TestClient, token: str, n: int) -> tuple[int, str | None, float, str | None]:
    started = time.monotonic()
    r = await client.post("/api/v1/meetings", json={"title": f"m{n}"}, headers={"Authorization": f"Bearer {token}"})
    body = await r.json()
    elapsed = time.monotonic() - started
    if r.status == 201:
        return r.status, body["id"], elapsed, None
    return r.status, None, elapsed, body["error"]["code"]


async def _until_ok(client: TestClient, token: str, start: int) -> list[str]:
    acknowledged = []
    for n in range(start, start + 200):
        status, mid, elapsed, code = await _create(client, token, n)
        assert elapsed < REQUEST_BOUND
        if status == 201:
            acknowledged.append(mid)
            return acknowledged
        assert (status, code) == (503, "unavailable")
        await asyncio.sleep(0.1)
    raise AssertionError("the service did not recover")


async def _outage(client: TestClient, stop, start) -> None:  # type: ignore[no-untyped-def]
    token = await _token(client)
    acknowledged = []
    for n in range(5):
        status, mid, _, _ = await _create(client, token, n)
        assert status == 201
        acknowledged.append(mid)
    stop()
    failures = []
    for n in range(5, 10):
        status, _, elapsed, code = await _create(client, token, n)
        failures.append((status, code))
        assert elapsed < REQUEST_BOUND
    assert failures == [(503, "unavailable")] * 5
    start()
    acknowledged += await _until_ok(client, token, 10)
    for mid in acknowledged:
        r = await client.get(f"/api/v1/meetings/{mid}", headers={"Authorization": f"Bearer {token}"})
        assert r.status == 200, mid


async def test_a_postgres_outage_gives_503_then_recovers_without_losing_acknowledged_writes(servers, client):
    pg, _ = servers
    await _outage(client, pg.stop, pg.start)


async def test_a_redis_outage_gives_503_then_recovers_without_a_restart(servers, client):
    _, redis = servers
    await _outage(client, redis.stop, redis.start)
