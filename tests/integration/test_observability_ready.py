"""/ready of the production all-in-one: 200 while PostgreSQL and Redis answer, 503 naming Redis once a
private Redis is stopped; /metrics answers on its own port only."""

from __future__ import annotations

import secrets
import uuid

import aiohttp
import asyncpg

from tests.support.process import allinone, free_port
from tests.support.servers import PrivateRedis


async def test_ready_turns_503_naming_redis_when_its_redis_stops(tmp_path, postgres_server_dsn) -> None:
    db = f"confero_ready_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres_server_dsn)
    await admin.execute(f'CREATE DATABASE "{db}"')
    redis = PrivateRedis(persistent=False)
    redis.start()
    metrics_port = free_port()
    try:
        env = {"APP_ADAPTERS": "production", "APP_JWT_SECRET": secrets.token_urlsafe(40),
               "APP_POSTGRES_DSN": postgres_server_dsn.rsplit("/", 1)[0] + "/" + db, "APP_REDIS_URL": redis.url,
               "APP_METRICS_PORT": str(metrics_port)}
        with allinone(env, tmp_path / "app.log") as base:
            async with aiohttp.ClientSession() as s:
                async with s.get(f"{base}/ready") as r:
                    up = (r.status, await r.json())
                async with s.get(f"http://127.0.0.1:{metrics_port}/metrics") as r:
                    metrics = (r.status, await r.text())
                async with s.get(f"{base}/metrics") as r:
                    public_metrics = r.status
                redis.stop()
                async with s.get(f"{base}/ready") as r:
                    down = (r.status, await r.json())
                async with s.get(f"{base}/health") as r:
                    alive = r.status
    finally:
        redis.destroy()
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()

    assert up[0] == 200 and up[1]["status"] == "ready"
    assert {name: c["status"] for name, c in up[1]["checks"].items()} == {"postgresql": "up", "redis": "up"}
    assert down[0] == 503 and down[1]["status"] == "unready"
    assert down[1]["checks"]["postgresql"]["status"] == "up"
    assert down[1]["checks"]["redis"]["status"] == "down" and down[1]["checks"]["redis"]["error"]
    assert str(redis.port) not in str(down[1])  # no URL, address or password in the report
    assert alive == 200  # liveness does not depend on the dependencies
    assert metrics[0] == 200 and "confero_postgres_pool_connections" in metrics[1]
    assert 'confero_http_requests_total{method="GET",route="/ready",status_class="2xx"}' in metrics[1]
    assert public_metrics == 404
