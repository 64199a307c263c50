"""The Redis notification adapters pass their contracts against a real Redis."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from adapters.redis.job_queue import RedisJobQueue
from adapters.redis.notifications import RedisDeliveryLimiter, RedisLiveNotifications, RedisSentLog
from confero_contracts.notifications import (DeliveryLimiterContract, JobQueueContract, SentLogContract, a_job,
                                             a_notification, a_user)
from tests.integration.redis_fixtures import redis_client, redis_prefix  # noqa: F401

pytestmark = pytest.mark.integration


class TestRedisJobQueue(JobQueueContract):
    @pytest.fixture
    async def queue(self, redis_client, redis_prefix):
        return RedisJobQueue(redis_client, prefix=redis_prefix, lease=1.0, block=0.2)

    async def test_a_body_that_is_no_job_goes_to_the_dead_letters_and_the_next_is_served(
            self, queue, redis_client):
        await redis_client.xadd(queue.stream, {"job": "{not json"})
        job = a_job()
        await queue.put(job)
        (lease,) = await queue.take("w1", 10, 2.0)
        assert lease.job == job
        dead = await redis_client.xrange(queue.dead_stream)
        assert len(dead) == 1 and dead[0][1]["error"].startswith("undecodable")


class TestRedisSentLog(SentLogContract):
    @pytest.fixture
    async def sent_log(self, redis_client, redis_prefix):
        return RedisSentLog(redis_client, prefix=redis_prefix)


class TestRedisDeliveryLimiter(DeliveryLimiterContract):
    @pytest.fixture
    async def limiter(self, redis_client, redis_prefix):
        return RedisDeliveryLimiter(redis_client, 3, dt.timedelta(minutes=1), prefix=redis_prefix)


async def test_live_notifications_reach_every_listener(redis_client, redis_prefix):
    live = RedisLiveNotifications(redis_client, prefix=redis_prefix)
    got: list = []
    other: list = []

    async def a(n):
        got.append(n)

    async def b(n):
        other.append(n)

    n = a_notification(a_user())
    async with live.listen(a), live.listen(b):
        await live.publish(n)
        for _ in range(100):
            if got and other:
                break
            await asyncio.sleep(0.02)
    assert got == [n] and other == [n]
