"""Races through the meeting service on the SQLite family: units of work that all loaded one version.

Every racer's first load waits at a barrier, so the race is certain rather than a matter of luck;
no in-process keyed locks, so only the units' version checks can keep the seats right.
"""

from __future__ import annotations

import asyncio
from typing import Any

from adapters.crypto.argon2 import Argon2PasswordHasher
from adapters.memory.limits import InMemoryAttemptLimiter
from adapters.sqlite.meeting_queries import SqliteMeetingQueries
from adapters.sqlite.meetings import SqliteMeetingRepository
from adapters.sqlite.outbox import SqliteOutbox
from adapters.sqlite.unit_of_work import SqliteUnitOfWorkFactory
from adapters.sqlite.users import SqliteUserRepository
from adapters.system.clock import SystemClock
from domain.meetings import commands as c
from domain.meetings.errors import MeetingFull
from domain.meetings.service import MeetingService
from domain.shared.actor import Actor
from confero_contracts.factories import a_user
from confero_contracts.outbox import pending
from tests.integration.sqlite_fixtures import sqlite_db  # noqa: F401  (a fixture)


class UnitsLoadTogether:
    """A unit-of-work factory whose units' first ``parties`` meeting loads wait for each other."""

    def __init__(self, inner: SqliteUnitOfWorkFactory, parties: int) -> None:
        self._inner = inner
        self._barrier = asyncio.Barrier(parties)
        self._held = parties

    def __call__(self) -> Any:
        unit = self._inner()
        meetings, outer = unit.meetings, self

        class Held:
            async def get(self, meeting_id: str) -> Any:
                meeting = await meetings.get(meeting_id)
                if outer._held > 0:
                    outer._held -= 1
                    await outer._barrier.wait()
                return meeting

            def __getattr__(self, name: str) -> Any:
                return getattr(meetings, name)

        unit.meetings = Held()
        return unit


async def test_of_many_users_racing_for_four_seats_exactly_four_get_them(sqlite_db):
    users, meetings = SqliteUserRepository(sqlite_db), SqliteMeetingRepository(sqlite_db)
    people = [a_user() for _ in range(11)]
    for person in people:
        await users.add(person)
    host, *racers = [Actor(p.id) for p in people]
    plain = SqliteUnitOfWorkFactory(sqlite_db)
    queries = SqliteMeetingQueries(sqlite_db)
    setup = MeetingService(uow=plain, meetings=meetings, queries=queries, users=users,
                           hasher=Argon2PasswordHasher.fast(), clock=SystemClock(),
                           guesses=InMemoryAttemptLimiter())
    meeting = await setup.schedule(host, c.ScheduleMeeting(title="Four seats", capacity=4))
    racing = MeetingService(uow=UnitsLoadTogether(plain, len(racers)), meetings=meetings,
                            queries=queries, users=users,
                            hasher=Argon2PasswordHasher.fast(), clock=SystemClock(),
                            guesses=InMemoryAttemptLimiter())

    results = await asyncio.gather(*(racing.join(r, c.JoinMeeting(meeting_id=meeting.id)) for r in racers),
                                   return_exceptions=True)

    joined = [r for r, out in zip(racers, results) if not isinstance(out, BaseException)]
    assert len(joined) == 4
    assert all(isinstance(out, MeetingFull) for out in results if isinstance(out, BaseException))
    stored = await meetings.get(meeting.id)
    assert set(stored.participants) == {a.user_id for a in joined}
    events = [e for e in await pending(SqliteOutbox(sqlite_db)) if e.name == "meeting.participant_joined"]
    assert sorted(e.user_id for e in events) == sorted(a.user_id for a in joined)  # type: ignore[attr-defined]
