"""The AttemptLimiter contract against Redis, plus what only Redis has (expiry of its keys)."""

from __future__ import annotations

import datetime as dt

import pytest

from adapters.redis.limits import RedisAttemptLimiter
from domain.shared.limits import AttemptLimit
from confero_contracts.limits import AttemptLimiterContract, a_key
from tests.integration.redis_fixtures import redis_client, redis_prefix  # noqa: F401

pytestmark = pytest.mark.integration


class TestRedisAttemptLimiter(AttemptLimiterContract):
    @pytest.fixture
    async def limiter(self, redis_client, redis_prefix):
        return RedisAttemptLimiter(redis_client, prefix=redis_prefix)

    async def test_a_key_expires_in_redis_with_its_window(self, limiter, redis_client, redis_prefix, now):
        key = a_key()
        await limiter.reserve([AttemptLimit(key, 3, dt.timedelta(minutes=2))], now)
        ttl = await redis_client.pttl(f"{redis_prefix}attempts:{key}")
        assert 120_000 - 5_000 < ttl <= 121_000
