"""Events that are never lost: Redis goes away at the very moment a kick commits, and the kick still
reaches the member's signaling socket once Redis is back (production adapters, one process)."""

from __future__ import annotations

import asyncio
import secrets

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from runners.serve import composed
from runners.settings import Settings
from runners.web.app import create_app
from tests.integration.postgres_fixtures import pg_pool, postgres_dsn  # noqa: F401
from tests.support.servers import PrivateRedis
from tests.support.signaling_client import SignalingClient

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"


@pytest.fixture
def redis_server():
    server = PrivateRedis(persistent=True)  # sessions and the stream outlive the restart
    server.start()
    yield server
    server.destroy()


async def _login(client: TestClient, name: str) -> tuple[str, str]:
    user = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    assert (await client.post("/api/v1/auth/register", json=user)).status == 201
    r = await client.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
    body = await r.json()
    return body["access_token"], body["user"]["id"]


async def test_a_kick_committed_while_redis_goes_down_reaches_the_socket_after_redis_returns(
        redis_server, postgres_dsn, pg_pool):
    settings = Settings.from_env({
        "APP_ADAPTERS": "production", "APP_JWT_SECRET": secrets.token_urlsafe(40), "APP_LOG_LEVEL": "CRITICAL",
        "APP_POSTGRES_DSN": postgres_dsn, "APP_REDIS_URL": redis_server.url})
    async with composed(settings) as (_, services), \
            TestClient(TestServer(create_app(services, settings))) as client:
        host_token, _ = await _login(client, "hana")
        member_token, member_id = await _login(client, "mika")
        auth = {"Authorization": f"Bearer {host_token}"}
        meeting = await (await client.post("/api/v1/meetings", json={"title": "Outage"}, headers=auth)).json()
        async with aiohttp.ClientSession() as session:
            member = await SignalingClient.connect(session, str(client.make_url("/ws/signaling")), member_token)
            state = await member.request("join_room", {"room_id": meeting["id"]})
            assert state["type"] == "room_state", state

            # Redis dies exactly when the kick's transaction commits: before the relay, woken by that
            # commit, gets a chance to run (no await between the commit and the stop).
            units = services.meetings.uow

            def dying_units():
                unit = units()
                commit = unit.commit

                async def commit_then_redis_dies() -> None:
                    await commit()
                    redis_server.stop()

                unit.commit = commit_then_redis_dies
                return unit

            services.meetings.uow = dying_units
            r = await client.post(f"/api/v1/meetings/{meeting['id']}/participants/{member_id}/kick", headers=auth)
            assert r.status == 200, await r.text()
            assert redis_server.proc is None  # the commit happened and took Redis down with it
            await asyncio.sleep(1.5)  # the relay fails to publish meanwhile; the kick waits in the outbox
            assert await pg_pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") >= 1

            redis_server.start()
            kicked = await member.next("kicked", timeout=20)
            assert kicked["data"]["room_id"] == meeting["id"]
            await member.close()
