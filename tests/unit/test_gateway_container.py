"""The gateway's composition root and its settings."""

from __future__ import annotations

import asyncio

import pytest

from runners.containers import resolve
from runners.gateway.container import GatewayContainer
from runners.settings import ConfigError, Settings
from tests.unit.gateway_support import SECRET


async def test_fixed_upstreams_are_in_the_memory_registry_while_the_container_runs() -> None:
    settings = Settings.from_env({"APP_JWT_SECRET": SECRET,
                                  "APP_GATEWAY_UPSTREAMS": "allinone=127.0.0.1:8801, meetings=10.0.0.2:8082"})
    container = GatewayContainer(settings=settings)
    await container.init_resources()
    try:
        gateway = await resolve(container.gateway)
        async with gateway.upstreams.following():
            async with asyncio.timeout(5):
                await gateway.upstreams.views["meetings"].wait_for(lambda snap: len(snap.instances) == 1)
                await gateway.upstreams.views["allinone"].wait_for(lambda snap: len(snap.instances) == 1)
            assert gateway.upstreams.choose("meetings").http == "10.0.0.2:8082"
            assert gateway.upstreams.choose("users").http == "127.0.0.1:8801"  # the all-in-one stands in
    finally:
        await container.shutdown_resources()


@pytest.mark.parametrize("value", ["allinone", "allinone=host", "=h:1", "a=h:99999"])
def test_a_malformed_fixed_upstream_is_a_configuration_error(value: str) -> None:
    with pytest.raises(ConfigError, match="APP_GATEWAY_UPSTREAMS"):
        Settings.from_env({"APP_GATEWAY_UPSTREAMS": value})


def test_fixed_upstreams_and_etcd_do_not_go_together() -> None:
    with pytest.raises(ConfigError, match="APP_GATEWAY_UPSTREAMS"):
        Settings.from_env({"APP_GATEWAY_UPSTREAMS": "a=h:1", "APP_ETCD_URL": "http://127.0.0.1:2379"})
