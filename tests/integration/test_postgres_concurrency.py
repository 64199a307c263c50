"""Races through the meeting service on real concurrent PostgreSQL connections.

A wrapper holds every racer's first load at a barrier, so they all start from one version and the
race is certain rather than a matter of scheduling luck.  The service has no in-process lock: the
version guard of the commit statement alone decides who wins.
"""

from __future__ import annotations

import asyncio

import pytest

from adapters.crypto.argon2 import Argon2PasswordHasher
from adapters.postgres.meeting_queries import PostgresMeetingQueries
from adapters.memory.limits import InMemoryAttemptLimiter
from adapters.postgres.meetings import PostgresMeetingRepository
from adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory
from adapters.postgres.users import PostgresUserRepository
from adapters.system.clock import SystemClock
from domain.meetings import commands as c
from domain.meetings.errors import MeetingFull
from domain.meetings.model import Meeting
from domain.meetings.service import MeetingService
from domain.shared.actor import Actor
from domain.shared.ids import MeetingId
from confero_contracts.factories import a_user
from tests.integration.postgres_fixtures import pg_pool, postgres_dsn  # noqa: F401

pytestmark = pytest.mark.integration


class LoadsTogether:
    """A unit-of-work factory whose units' first ``parties`` meeting loads wait for each other."""

    def __init__(self, inner: PostgresUnitOfWorkFactory, parties: int) -> None:
        self._inner = inner
        self._barrier = asyncio.Barrier(parties)
        self._held = parties

    def __call__(self):
        unit = self._inner()
        outer = self

        class Loads:
            def __init__(self, unit) -> None:
                self._unit = unit

            async def __aenter__(self):
                await self._unit.__aenter__()
                get = self._unit.meetings.get

                async def get_together(meeting_id: MeetingId) -> Meeting:
                    if outer._held > 0:
                        outer._held -= 1
                        await outer._barrier.wait()
                    return await get(meeting_id)

                self._unit.meetings.get = get_together
                return self._unit

            async def __aexit__(self, *exc):
                return await self._unit.__aexit__(*exc)

        return Loads(unit)


@pytest.fixture
async def world(pg_pool):  # noqa: F811
    users = PostgresUserRepository(pg_pool)
    meetings = PostgresMeetingRepository(pg_pool)
    service = MeetingService(uow=PostgresUnitOfWorkFactory(pg_pool), meetings=meetings,
                             queries=PostgresMeetingQueries(pg_pool), users=users,
                             hasher=Argon2PasswordHasher.fast(), clock=SystemClock(),
                             guesses=InMemoryAttemptLimiter())
    return service, meetings, users


async def some_users(users: PostgresUserRepository, n: int) -> list[Actor]:
    made = [a_user() for _ in range(n)]
    for user in made:
        await users.add(user)
    return [Actor(u.id) for u in made]


async def outcomes(calls) -> list[object]:
    return await asyncio.gather(*calls, return_exceptions=True)


async def test_of_many_users_racing_for_the_last_seat_exactly_one_gets_it(world):
    service, meetings, users = world
    host, first, *racers = await some_users(users, 12)
    meeting = await service.schedule(host, c.ScheduleMeeting(title="last seat", capacity=2))
    await service.join(first, c.JoinMeeting(meeting_id=meeting.id))
    service.uow = LoadsTogether(service.uow, len(racers))

    results = await outcomes(service.join(r, c.JoinMeeting(meeting_id=meeting.id)) for r in racers)

    winners = [r for r, out in zip(racers, results) if isinstance(out, Meeting)]
    assert len(winners) == 1
    assert all(isinstance(out, MeetingFull) for out in results if not isinstance(out, Meeting))
    stored = await meetings.get(meeting.id)
    assert set(stored.participants) == {first.user_id, winners[0].user_id}


async def test_users_racing_to_fill_a_meeting_take_exactly_its_capacity(world):
    service, meetings, users = world
    host, *racers = await some_users(users, 16)
    meeting = await service.schedule(host, c.ScheduleMeeting(title="fill up", capacity=5))
    service.uow = LoadsTogether(service.uow, len(racers))

    results = await outcomes(service.join(r, c.JoinMeeting(meeting_id=meeting.id)) for r in racers)

    winners = {r.user_id for r, out in zip(racers, results) if isinstance(out, Meeting)}
    assert len(winners) == 5
    assert sum(isinstance(out, MeetingFull) for out in results) == len(racers) - 5
    stored = await meetings.get(meeting.id)
    assert set(stored.participants) == winners == stored.attendees
    assert stored.version == 5
    joined = await meetings._pool.fetchval(
        "SELECT count(*) FROM outbox WHERE name = 'meeting.participant_joined' AND payload->>'meeting_id' = $1",
        meeting.id)
    assert joined == 5


async def test_two_concurrent_updates_of_one_meeting_are_both_applied(world):
    service, meetings, users = world
    (host,) = await some_users(users, 1)
    meeting = await service.schedule(host, c.ScheduleMeeting(title="before"))
    service.uow = LoadsTogether(service.uow, 2)

    results = await outcomes([
        service.update(host, c.UpdateMeeting(meeting_id=meeting.id, title="new title")),
        service.update(host, c.UpdateMeeting(meeting_id=meeting.id, description="new description")),
    ])

    assert all(isinstance(out, Meeting) for out in results), results
    stored = await meetings.get(meeting.id)
    assert (stored.title, stored.description, stored.version) == ("new title", "new description", 2)


async def test_concurrent_updates_of_different_fields_and_settings_lose_nothing(world):
    service, meetings, users = world
    (host,) = await some_users(users, 1)
    meeting = await service.schedule(host, c.ScheduleMeeting(title="before"))
    updates = [dict(title="t2"), dict(description="d2"), dict(duration_minutes=90), dict(capacity=50),
               dict(mute_on_join=True), dict(allow_recording=False), dict(invite_only=True)]
    service.uow = LoadsTogether(service.uow, len(updates))

    results = await outcomes(service.update(host, c.UpdateMeeting(meeting_id=meeting.id, **u)) for u in updates)

    assert all(isinstance(out, Meeting) for out in results), results
    stored = await meetings.get(meeting.id)
    assert (stored.title, stored.description, stored.duration_minutes, stored.capacity) == ("t2", "d2", 90, 50)
    assert (stored.settings.mute_on_join, stored.settings.allow_recording, stored.settings.invite_only) == (
        True, False, True)
    assert stored.version == len(updates)
