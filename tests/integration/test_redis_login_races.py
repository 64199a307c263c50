"""Login races with the Redis session store and throttle (suite: confero_contracts/login_races.py)."""

from __future__ import annotations

import pytest

from adapters.redis.client import open_redis
from adapters.redis.sessions import RedisSessionStore
from adapters.redis.throttle import RedisLoginThrottle
from confero_contracts.login_races import GUESSES, LoginRaceSuite
from tests.integration.redis_fixtures import delete_prefix, redis_prefix  # noqa: F401

pytestmark = pytest.mark.integration


class TestRedisLoginRaces(LoginRaceSuite):
    @pytest.fixture
    async def stores(self, redis_server_url, redis_prefix):
        # A pool as large as the burst: open_redis's default of 50 connections answers the 51st
        # concurrent command with a connection error (Unavailable), which is not what is tested here.
        async with open_redis(redis_server_url, max_connections=GUESSES + 10) as client:
            try:
                yield (RedisSessionStore(client, prefix=redis_prefix),
                       RedisLoginThrottle(client, prefix=redis_prefix))
            finally:
                await delete_prefix(client, redis_prefix)
