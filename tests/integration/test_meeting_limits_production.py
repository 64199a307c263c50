"""The meeting limits on the production family: PostgreSQL repositories, the Redis attempt limiter,
real argon2 cost, and racers held at a barrier."""

from __future__ import annotations

import asyncio

import pytest

from adapters.crypto.argon2 import Argon2PasswordHasher
from adapters.memory.locks import InProcessKeyedLocks
from adapters.postgres.meeting_queries import PostgresMeetingQueries
from adapters.postgres.meetings import PostgresMeetingRepository
from adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory
from adapters.postgres.users import PostgresUserRepository
from adapters.redis.client import open_redis
from adapters.redis.limits import RedisAttemptLimiter
from adapters.system.clock import SystemClock
from domain.meetings import commands as c
from domain.meetings import errors as e
from domain.meetings.rules import MeetingLimits
from domain.meetings.service import MeetingService
from domain.shared.actor import Actor
from domain.shared.errors import DomainError
from domain.shared.pagination import PageRequest
from confero_contracts.factories import a_user
from tests.integration.postgres_fixtures import pg_pool, postgres_dsn  # noqa: F401
from tests.integration.redis_fixtures import delete_prefix, redis_prefix  # noqa: F401
from tests.unit.test_meeting_password_guesses import CountingHasher

pytestmark = pytest.mark.integration


@pytest.fixture
async def patient_redis(redis_server_url, redis_prefix):  # noqa: F811
    # 40 connections opened at once on a busy 2-core machine can take longer than the production
    # client's 0.5 s connect timeout; this test is about the limiter, not about that timeout.
    async with open_redis(redis_server_url, socket_timeout=10, connect_timeout=10) as client:
        try:
            yield client
        finally:
            await delete_prefix(client, redis_prefix)


@pytest.fixture
async def world(pg_pool, patient_redis, redis_prefix):  # noqa: F811
    users = PostgresUserRepository(pg_pool)
    hasher = CountingHasher(Argon2PasswordHasher())
    service = MeetingService(uow=PostgresUnitOfWorkFactory(pg_pool), meetings=PostgresMeetingRepository(pg_pool),
                             queries=PostgresMeetingQueries(pg_pool), users=users, hasher=hasher, clock=SystemClock(),
                             guesses=RedisAttemptLimiter(patient_redis, prefix=redis_prefix),
                             limits=MeetingLimits(password_guesses_per_user=5, open_meetings_per_host=3),
                             locks=InProcessKeyedLocks())
    made = [a_user() for _ in range(2)]
    for user in made:
        await users.add(user)
    return service, hasher, [Actor(u.id) for u in made]


async def together(n: int, call) -> list[object]:  # type: ignore[no-untyped-def]
    barrier = asyncio.Barrier(n)

    async def one(i: int) -> object:
        await barrier.wait()
        try:
            return await call(i)
        except DomainError as err:
            return err

    return await asyncio.gather(*(one(i) for i in range(n)))


async def test_40_parallel_guesses_verify_at_most_the_limit_through_redis(world):
    service, hasher, (host, attacker) = world
    meeting = await service.schedule(host, c.ScheduleMeeting(title="PIN", password="4711"))
    outcomes = await together(40, lambda i: service.join(
        attacker, c.JoinMeeting(meeting_id=meeting.id, password=f"{i:04d}")))
    assert hasher.verified == 5
    assert sum(isinstance(o, e.TooManyPasswordGuesses) for o in outcomes) == 35, [repr(o) for o in outcomes]


async def test_parallel_schedules_on_postgres_never_exceed_the_open_meetings_cap(world):
    service, _, (host, _) = world
    outcomes = await together(12, lambda i: service.schedule(host, c.ScheduleMeeting(title=f"M{i}")))
    assert sum(isinstance(o, e.OpenMeetingsLimitReached) for o in outcomes) == 9
    hosted = await service.queries.list_for_user(host.user_id, None, c.Relation.HOSTED, c.When.ALL, PageRequest())
    assert hosted.total == 3
