"""The PostgreSQL RecordingRepository against its contract: the partial unique index is what lets
exactly one of several racing processes start a meeting's recording."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from adapters.crypto.download_links import HmacDownloadLinks
from adapters.memory.blobs import InMemoryBlobStore
from adapters.postgres.meetings import PostgresMeetingRepository
from adapters.postgres.recordings import PostgresRecordingRepository
from adapters.system.clock import SystemClock
from confero_contracts.factories import a_meeting, at
from domain.meetings.model import MeetingStatus
from domain.recordings.errors import RecordingConflict
from domain.recordings.model import Recording, RecordingState
from domain.recordings.service import RecordingService
from domain.shared.actor import Actor
from domain.shared.ids import new_id
from tests.support.recording_fakes import FakeProcessor, FakeRoomRecorder
from adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory
from confero_contracts.recordings import RecordingRepositoryContract
from tests.integration.postgres_fixtures import pg_pool, postgres_dsn  # noqa: F401


class TestPostgresRecordingRepository(RecordingRepositoryContract):
    @pytest.fixture
    async def repo(self, pg_pool):  # noqa: F811
        return PostgresRecordingRepository(pg_pool)

    @pytest.fixture
    async def units(self, pg_pool):  # noqa: F811
        return PostgresUnitOfWorkFactory(pg_pool)


class _AtBarrier:
    """A unit-of-work factory whose units all pass the service's own "no active recording" check before
    any of them commits: only the database's partial unique index is left to decide."""

    def __init__(self, inner: PostgresUnitOfWorkFactory, parties: int) -> None:
        self._inner = inner
        self._barrier = asyncio.Barrier(parties)

    def __call__(self):
        unit = self._inner()
        check = unit.recordings.active_for_meeting
        barrier = self._barrier

        async def active_for_meeting(meeting_id):
            found = await check(meeting_id)
            if barrier.n_waiting < barrier.parties and not barrier.broken:
                with contextlib.suppress(asyncio.BrokenBarrierError):
                    await asyncio.wait_for(barrier.wait(), 5)
            return found

        unit.recordings.inner.active_for_meeting = active_for_meeting
        return unit


async def test_of_five_hosts_racing_to_start_a_recording_exactly_one_wins(pg_pool):  # noqa: F811
    meeting = a_meeting(host_id=new_id(), status=MeetingStatus.LIVE, started_at=at(1))
    await PostgresMeetingRepository(pg_pool).add(meeting)
    blobs = InMemoryBlobStore()
    service = RecordingService(uow=_AtBarrier(PostgresUnitOfWorkFactory(pg_pool), 5),
                               recorder=FakeRoomRecorder(blobs), processor=FakeProcessor(blobs), blobs=blobs,
                               links=HmacDownloadLinks("k" * 40), clock=SystemClock())
    outcomes = await asyncio.gather(*(service.start(Actor(meeting.host_id), meeting.id) for _ in range(5)),
                                    return_exceptions=True)
    winners = [o for o in outcomes if isinstance(o, Recording)]
    assert len(winners) == 1 and winners[0].state is RecordingState.RECORDING, outcomes
    assert all(isinstance(o, RecordingConflict) for o in outcomes if o not in winners)
    stored = await PostgresRecordingRepository(pg_pool).list_for_meeting(meeting.id)
    assert [r.id for r in stored] == [winners[0].id]
    events = await pg_pool.fetch("SELECT name FROM outbox ORDER BY position")
    assert [e["name"] for e in events] == ["recording.started"]
