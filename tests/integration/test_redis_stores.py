"""Every token-store and event contract against the Redis adapters, plus what only Redis has (TTLs)."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import time
import uuid

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, rule, run_state_machine_as_test

from adapters.memory.tokens import InMemorySessionStore
from adapters.redis.client import open_redis
from adapters.redis.dead_letters import RedisDeadLetters
from adapters.redis.events import RedisStreamEventPublisher, RedisStreamSubscriber
from adapters.redis.sessions import RedisSessionStore
from adapters.redis.throttle import RedisLoginThrottle
from confero_contracts.events import MAX_ATTEMPTS, EventPublisherContract, Handler, happened
from confero_contracts.sessions import SessionStoreContract, a_session
from confero_contracts.throttle import LoginThrottleContract, bucket
from domain.shared.ids import UserId
from domain.shared.pagination import PageRequest
from tests.integration.redis_fixtures import delete_prefix, redis_client, redis_prefix  # noqa: F401

pytestmark = pytest.mark.integration


class TestRedisSessionStore(SessionStoreContract):
    @pytest.fixture
    async def store(self, redis_client, redis_prefix):
        return RedisSessionStore(redis_client, prefix=redis_prefix)

    async def test_a_session_key_expires_in_redis_when_the_session_does(self, store, redis_client,
                                                                        redis_prefix, now):
        session = a_session(now, ttl=dt.timedelta(hours=2))
        await store.create(session)
        ttl = await redis_client.pttl(f"{redis_prefix}session:{session.id}")
        index_ttl = await redis_client.pttl(f"{redis_prefix}user-sessions:{session.user_id}")
        assert 2 * 3600_000 - 5_000 < ttl <= 2 * 3600_000
        assert index_ttl >= ttl - 100  # set together; the two reads are a few ms apart

    async def test_rotation_moves_the_ttls_to_the_new_expiry(self, store, redis_client, redis_prefix, now):
        session = a_session(now, ttl=dt.timedelta(minutes=5))
        await store.create(session)
        assert await store.rotate(session.id, session.refresh_token_id, "r2", now + dt.timedelta(days=7), now)
        day7 = 7 * 24 * 3600_000
        assert await redis_client.pttl(f"{redis_prefix}session:{session.id}") > day7 - 5_000
        assert await redis_client.pttl(f"{redis_prefix}user-sessions:{session.user_id}") > day7 - 5_000


class TestRedisLoginThrottle(LoginThrottleContract):
    @pytest.fixture
    async def throttle(self, redis_client, redis_prefix):
        return RedisLoginThrottle(redis_client, prefix=redis_prefix)

    async def test_attempt_counters_expire_with_their_window(self, throttle, redis_client, redis_prefix, now):
        b = bucket(window=dt.timedelta(minutes=3))
        await throttle.reserve([b], now)
        ttl = await redis_client.pttl(f"{redis_prefix}throttle:{b.key}")
        assert 3 * 60_000 - 5_000 < ttl <= 3 * 60_000 + 1

    async def test_a_known_client_is_forgotten_by_redis_after_until(self, throttle, redis_client, redis_prefix,
                                                                     now):
        started = time.monotonic()
        await throttle.remember_client("user-1", "client-1", now + dt.timedelta(days=30), now)
        # SCAN walks the whole shared database: the TTL runs down meanwhile by however long that took.
        keys = [k async for k in redis_client.scan_iter(match=f"{redis_prefix}known-client:user-1:*")]
        assert len(keys) == 1 and "client-1" not in keys[0]
        ttl = await redis_client.pttl(keys[0])
        elapsed_ms = (time.monotonic() - started) * 1000
        assert 30 * 86_400_000 - elapsed_ms - 1_000 < ttl <= 30 * 86_400_000


class RedisStreamHarness:
    """One consumer group per subscriber, each driven by polling until nothing is due."""

    def __init__(self, redis, stream: str) -> None:
        self._redis = redis
        self.stream = stream
        self.publisher = RedisStreamEventPublisher(redis, stream=stream)
        self.dead_letters = RedisDeadLetters(redis, stream=stream)
        self._subscriptions: list[tuple[RedisStreamSubscriber, Handler]] = []
        self._names = itertools.count()

    async def subscribe(self, handler: Handler) -> None:
        sub = RedisStreamSubscriber(self._redis, self.stream, f"group-{next(self._names)}", "consumer-1",
                                    max_attempts=MAX_ATTEMPTS)
        await sub.ensure_group()
        self._subscriptions.append((sub, handler))

    async def deliver(self) -> None:
        for sub, handler in self._subscriptions:
            try:
                while await sub.poll(handler):
                    pass
            except RuntimeError:  # the test handler's failure; the entry stays pending
                pass


class TestRedisStreamEvents(EventPublisherContract):
    @pytest.fixture
    async def harness(self, redis_client, redis_prefix):
        return RedisStreamHarness(redis_client, f"{redis_prefix}events")

    async def test_subscribers_receive_published_event_values(self, harness):
        seen: list = []

        async def handler(event):
            seen.append(event)

        await harness.subscribe(handler)
        event = happened(4)
        await harness.publisher.publish(event)
        await harness.deliver()
        assert seen == [event]

    async def test_a_group_created_after_publishing_still_sees_earlier_events(self, harness):
        await harness.publisher.publish(happened(1))
        seen: list = []

        async def handler(event):
            seen.append(event)

        await harness.subscribe(handler)
        await harness.deliver()
        assert [e.n for e in seen] == [1]

    async def test_an_entry_that_is_no_event_is_dead_lettered_at_once(self, harness, redis_client):
        seen: list = []

        async def handler(event):
            seen.append(event)

        await harness.subscribe(handler)
        await redis_client.xadd(harness.stream, {"name": "no.such.event", "event_id": "x",
                                                 "occurred_at": "2030-01-01T00:00:00+00:00", "payload": "{}"})
        await harness.publisher.publish(happened(5))
        await harness.deliver()
        assert [e.n for e in seen] == [5]
        [letter] = (await harness.dead_letters.list(PageRequest())).items
        assert letter.name == "no.such.event" and "UnknownEvent" in letter.error

    async def test_the_stream_is_capped(self, redis_client, redis_prefix):
        publisher = RedisStreamEventPublisher(redis_client, stream=f"{redis_prefix}capped", maxlen=10)
        for n in range(300):
            await publisher.publish(happened(n % 60))
        # Approximate trimming keeps whole radix-tree nodes (100 entries by default).
        assert await redis_client.xlen(f"{redis_prefix}capped") < 300


# -- agreement with the in-memory oracle ------------------------------------------------------------

class SessionStoresAgree(RuleBasedStateMachine):
    """Random operations on RedisSessionStore and InMemorySessionStore must give equal answers.
    Hypothesis drives the async stores through an asyncio.Runner that the machine owns."""

    url = ""

    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.prefix = f"test:{uuid.uuid4().hex[:12]}:"
        self.client_cm = open_redis(self.url)
        self.client = self.runner.run(self.client_cm.__aenter__())
        self.redis = RedisSessionStore(self.client, prefix=self.prefix)
        self.memory = InMemorySessionStore()
        self.now = dt.datetime.now(dt.timezone.utc)
        self.refresh: dict[str, str] = {}

    sessions = Bundle("sessions")
    users = st.sampled_from([UserId(f"user-{n}") for n in range(3)])

    def both(self, call):
        return self.runner.run(call(self.redis)), self.runner.run(call(self.memory))

    @rule(target=sessions, user=users, minutes=st.integers(1, 120), version=st.integers(0, 3))
    def create(self, user, minutes, version):
        session = a_session(self.now, user_id=user, ttl=dt.timedelta(minutes=minutes), version=version)
        created_redis, created_memory = self.both(lambda s: s.create(session))
        assert created_redis == created_memory
        self.refresh[session.id] = session.refresh_token_id
        return session.id

    @rule(minutes=st.integers(0, 90))
    def time_passes(self, minutes):
        self.now += dt.timedelta(minutes=minutes)

    @rule(session_id=sessions)
    def get(self, session_id):
        got_redis, got_memory = self.both(lambda s: s.get(session_id, self.now))
        assert got_redis == got_memory

    @rule(session_id=sessions, current=st.booleans(), minutes=st.integers(1, 120))
    def rotate(self, session_id, current, minutes):
        expected = self.refresh[session_id] if current else "not-the-current-id"
        new = uuid.uuid4().hex
        expires = self.now + dt.timedelta(minutes=minutes)
        rotated_redis, rotated_memory = self.both(lambda s: s.rotate(session_id, expected, new, expires, self.now))
        assert rotated_redis == rotated_memory
        if rotated_memory:
            self.refresh[session_id] = new

    @rule(session_id=sessions)
    def revoke(self, session_id):
        self.both(lambda s: s.revoke(session_id))

    @rule(user=users, version=st.integers(0, 3))
    def revoke_user(self, user, version):
        count_redis, count_memory = self.both(lambda s: s.revoke_user(user, version))
        assert count_redis == count_memory

    def teardown(self) -> None:
        async def close():
            await delete_prefix(self.client, self.prefix)
            await self.client_cm.__aexit__(None, None, None)

        self.runner.run(close())
        self.runner.close()


def test_redis_and_memory_session_stores_agree(redis_server_url):
    SessionStoresAgree.url = redis_server_url
    run_state_machine_as_test(SessionStoresAgree, settings=settings(
        max_examples=40, stateful_step_count=25, deadline=None,
        suppress_health_check=[HealthCheck.too_slow]))
