"""The gateway on its production backends: upstreams found in a real etcd, and its rate limits in Redis."""

from __future__ import annotations

import uuid

import pytest

from adapters.etcd.client import open_etcd
from adapters.etcd.discovery import EtcdServiceRegistry
from adapters.redis.limits import RedisAttemptLimiter
from tests.integration.redis_fixtures import redis_client, redis_prefix  # noqa: F401
from tests.unit.gateway_support import Mesh, mesh  # noqa: F401
from tests.unit.test_gateway_proxy import API, auth, get, upstream

pytestmark = pytest.mark.integration


async def test_upstreams_registered_in_etcd_are_used_and_their_going_is_followed(mesh: Mesh,  # noqa: F811
                                                                                 etcd_server_url: str) -> None:
    prefix = f"/confero-test/{uuid.uuid4().hex}/"  # the shared etcd: other tests' "meetings" stay apart
    async with open_etcd(etcd_server_url) as gateway_client, open_etcd(etcd_server_url) as services_client:
        gateway_registry = EtcdServiceRegistry(gateway_client, prefix=prefix)
        mesh.services = EtcdServiceRegistry(services_client, prefix=prefix)
        try:
            await mesh.start_gateway(registry=gateway_registry)
            await mesh.start("meetings", "a", upstream("a"))
            await mesh.start("meetings", "b", upstream("b"))
            seen = {(await get(mesh, f"{API}/meetings/{i}", headers=auth()))[1]["instance"] for i in range(4)}
            assert seen == {"a", "b"}
            await mesh.services.deregister("meetings", "a")
            await mesh.seen("meetings", lambda ids: ids == {"b"})
            assert {(await get(mesh, f"{API}/meetings/{i}", headers=auth()))[1]["instance"] for i in range(4)} == {"b"}
            await mesh.services.deregister("meetings", "b")
            await mesh.seen("meetings", lambda ids: not ids)
            status, body, _ = await get(mesh, f"{API}/meetings/x", headers=auth())
            assert status == 503 and body["error"]["code"] == "service_unavailable"
        finally:
            await gateway_registry.close()


async def test_the_rate_limit_is_kept_in_redis(mesh: Mesh, redis_client, redis_prefix) -> None:  # noqa: F811
    await mesh.start_gateway(limiter=RedisAttemptLimiter(redis_client, prefix=redis_prefix),
                             APP_GATEWAY_RATE_PER_USER="2")
    await mesh.start("meetings", "m1", upstream("m1"))
    user = f"u-{uuid.uuid4().hex[:8]}"
    statuses = [(await get(mesh, f"{API}/meetings/{i}", headers=auth(user)))[0] for i in range(3)]
    assert statuses == [200, 200, 429]
    assert await redis_client.exists(f"{redis_prefix}attempts:gw:user:{user}")
