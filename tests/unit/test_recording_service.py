"""RecordingService on the memory adapters, with in-test recorder and processor."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from adapters.crypto.download_links import HmacDownloadLinks
from adapters.memory.blobs import InMemoryBlobStore
from adapters.memory.meetings import InMemoryMeetingRepository
from adapters.memory.outbox import InMemoryOutbox
from adapters.memory.recordings import InMemoryRecordingRepository
from adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory
from adapters.memory.users import InMemoryUserRepository
from confero_contracts.factories import a_meeting
from domain.meetings import events as me
from domain.meetings.errors import MeetingNotFound
from domain.meetings.model import MeetingSettings, MeetingStatus, Participant
from domain.recordings import errors as e
from domain.recordings import events as ev
from domain.recordings.model import Recording, RecordingState
from domain.recordings.service import RecordingService
from domain.shared.actor import Actor
from domain.shared.blobs import BlobNotFound
from domain.shared.errors import Unavailable
from domain.shared.ids import MeetingId, RecordingId, UserId, new_id
from tests.support.recording_fakes import FakeProcessor, FakeRoomRecorder, a_file

S = RecordingState
NOW = dt.datetime(2030, 1, 1, 12, tzinfo=dt.timezone.utc)
HOST, CO, GUEST, STRANGER = (UserId(n) for n in ("host", "cohost", "guest", "stranger"))
ADMIN = Actor(UserId("admin"), is_admin=True)


class Clock:
    def __init__(self) -> None:
        self.at = NOW

    def now(self) -> dt.datetime:
        return self.at


class World:
    def __init__(self) -> None:
        self.meetings = InMemoryMeetingRepository()
        self.recordings = InMemoryRecordingRepository()
        self.outbox = InMemoryOutbox()
        self.blobs = InMemoryBlobStore()
        self.recorder = FakeRoomRecorder(self.blobs)
        self.processor = FakeProcessor(self.blobs)
        self.clock = Clock()
        self.uow = InMemoryUnitOfWorkFactory(self.meetings, InMemoryUserRepository(), self.outbox,
                                             recordings=self.recordings)
        self.service = RecordingService(uow=self.uow, recorder=self.recorder, processor=self.processor,
                                        blobs=self.blobs, links=HmacDownloadLinks("s" * 40), clock=self.clock)

    async def meeting(self, **overrides) -> MeetingId:
        fields = dict(host_id=HOST, co_hosts={CO}, status=MeetingStatus.LIVE, attendees={HOST, CO, GUEST},
                      participants={HOST: Participant(user_id=HOST, joined_at=NOW)}, started_at=NOW)
        fields.update(overrides)
        m = a_meeting(**fields)
        await self.meetings.add(m)
        return m.id


@pytest.fixture
def world() -> World:
    return World()


async def events_of(world: World) -> list[object]:
    return world.outbox.events


async def test_the_host_starts_a_recording_and_the_room_is_told(world):
    meeting = await world.meeting()
    rec = await world.service.start(Actor(HOST), meeting)
    assert rec.state is S.RECORDING and rec.started_by == HOST and rec.started_at == NOW
    assert world.recorder.running == {rec.id: (meeting, f"recordings/{meeting}/{rec.id}")}
    assert [type(x) for x in await events_of(world)] == [ev.RecordingStarted]


@pytest.mark.parametrize("who", [Actor(CO), ADMIN])
async def test_co_hosts_and_administrators_may_record(world, who):
    rec = await world.service.start(who, await world.meeting())
    assert rec.state is S.RECORDING


@pytest.mark.parametrize("who", [Actor(GUEST), Actor(STRANGER)])
async def test_participants_and_strangers_may_not_record(world, who):
    with pytest.raises(e.NotAllowedToRecord):
        await world.service.start(who, await world.meeting())
    assert world.recordings._by_id == {}


async def test_an_unknown_meeting_is_not_found(world):
    with pytest.raises(MeetingNotFound):
        await world.service.start(Actor(HOST), MeetingId(new_id()))


@pytest.mark.parametrize("status", [MeetingStatus.SCHEDULED, MeetingStatus.ENDED, MeetingStatus.CANCELLED])
async def test_only_a_live_meeting_is_recorded(world, status):
    with pytest.raises(e.MeetingNotLive):
        await world.service.start(Actor(HOST), await world.meeting(status=status, participants={}))


async def test_a_meeting_that_does_not_allow_recording_is_not_recorded(world):
    meeting = await world.meeting(settings=MeetingSettings(allow_recording=False))
    with pytest.raises(e.RecordingNotAllowed):
        await world.service.start(Actor(HOST), meeting)


async def test_a_second_recording_of_a_meeting_is_refused(world):
    meeting = await world.meeting()
    first = await world.service.start(Actor(HOST), meeting)
    with pytest.raises(e.RecordingConflict):
        await world.service.start(Actor(CO), meeting)
    assert [r.id for r in await world.recordings.list_for_meeting(meeting)] == [first.id]


async def test_of_racing_starts_exactly_one_wins(world):
    meeting = await world.meeting()
    outcomes = await asyncio.gather(*(world.service.start(Actor(HOST), meeting) for _ in range(5)),
                                    return_exceptions=True)
    assert sum(isinstance(o, Recording) for o in outcomes) == 1
    assert all(isinstance(o, e.RecordingConflict) for o in outcomes if not isinstance(o, Recording))


async def test_a_recorder_that_refuses_leaves_a_failed_recording_with_the_reason(world):
    world.recorder.fail_start = Unavailable("recorder not configured")
    meeting = await world.meeting()
    with pytest.raises(Unavailable):
        await world.service.start(Actor(HOST), meeting)
    [rec] = await world.recordings.list_for_meeting(meeting)
    assert rec.state is S.FAILED and "recorder not configured" in rec.failure_reason
    assert [type(x) for x in await events_of(world)] == [ev.RecordingFailed]
    world.recorder.fail_start = None
    assert (await world.service.start(Actor(HOST), meeting)).state is S.RECORDING  # not blocked by it


async def test_stop_processes_the_files_into_a_meeting_file(world):
    rec = await world.service.start(Actor(HOST), await world.meeting())
    stopped = await world.service.stop(Actor(CO), rec.id)
    assert stopped.state is S.PROCESSING and stopped.stopped_by == CO and len(stopped.files) == 2
    await world.service.drain()
    done = await world.recordings.get(rec.id)
    assert done.state is S.COMPLETED and done.progress == 1.0
    assert done.meeting_file is not None and done.meeting_file.key == f"{rec.key_prefix}/meeting.webm"
    assert [type(x) for x in await events_of(world)] == [ev.RecordingStarted, ev.RecordingStopped,
                                                         ev.RecordingCompleted]


async def test_stopping_twice_is_refused(world):
    rec = await world.service.start(Actor(HOST), await world.meeting())
    await world.service.stop(Actor(HOST), rec.id)
    with pytest.raises(e.RecordingNotActive):
        await world.service.stop(Actor(HOST), rec.id)
    await world.service.drain()
    assert world.recorder.stops == 1


async def test_a_participant_may_not_stop(world):
    rec = await world.service.start(Actor(HOST), await world.meeting())
    with pytest.raises(e.NotAllowedToRecord):
        await world.service.stop(Actor(GUEST), rec.id)


async def test_a_processing_failure_fails_the_recording_with_the_reason(world):
    world.processor.fail = e.ProcessingFailed("no decodable video")
    rec = await world.service.start(Actor(HOST), await world.meeting())
    await world.service.stop(Actor(HOST), rec.id)
    await world.service.drain()
    failed = await world.recordings.get(rec.id)
    assert failed.state is S.FAILED and "no decodable video" in failed.failure_reason
    assert len(failed.files) == 2  # the participants' files stay downloadable


async def test_processing_retries_while_the_blob_store_is_away_then_completes_or_fails_with_the_reason(world):
    world.service.retry_delay = 0
    world.processor.fail, world.processor.fail_times = Unavailable("the blob store is unavailable"), 2
    rec = await world.service.start(Actor(HOST), await world.meeting())
    await world.service.stop(Actor(HOST), rec.id)
    await world.service.drain()
    assert (await world.recordings.get(rec.id)).state is S.COMPLETED and world.processor.calls == 3
    world.processor.fail_times, world.processor.calls = 0, 0
    again = await world.service.start(Actor(HOST), rec.meeting_id)
    await world.service.stop(Actor(HOST), again.id)
    await world.service.drain()
    failed = await world.recordings.get(again.id)
    assert failed.state is S.FAILED and "unavailable" in failed.failure_reason and world.processor.calls == 3


async def test_a_recorder_that_cannot_finish_fails_the_recording(world):
    rec = await world.service.start(Actor(HOST), await world.meeting())
    world.recorder.fail_stop = Unavailable("blob store down")
    out = await world.service.stop(Actor(HOST), rec.id)
    assert out.state is S.FAILED and "blob store down" in out.failure_reason


async def test_ending_the_meeting_stops_its_recording_once(world):
    meeting = await world.meeting()
    rec = await world.service.start(Actor(HOST), meeting)
    ended = me.MeetingEnded(occurred_at=NOW, meeting_id=meeting, by=HOST)
    await world.service.on_event(ended)
    await world.service.on_event(ended)
    await world.service.drain()
    assert (await world.recordings.get(rec.id)).state is S.COMPLETED
    assert world.recorder.stops == 1
    await world.service.on_event(me.MeetingEnded(occurred_at=NOW, meeting_id=meeting, by=HOST))  # nothing to stop


async def test_links_are_signed_by_the_app_when_the_store_cannot_sign(world):
    rec = await world.service.start(Actor(HOST), await world.meeting())
    await world.service.stop(Actor(HOST), rec.id)
    await world.service.drain()
    details = await world.service.get(Actor(GUEST), rec.id)
    assert len(details.links) == 3
    assert all(link.url.startswith("/api/v1/recording-files?") for link in details.links)
    assert all(link.expires_at == NOW + world.service.link_ttl for link in details.links)


async def test_who_sees_recordings(world):
    meeting = await world.meeting()
    await world.service.start(Actor(HOST), meeting)
    for who in (Actor(HOST), Actor(CO), Actor(GUEST), ADMIN):
        assert len(await world.service.list_for_meeting(who, meeting)) == 1
    with pytest.raises(e.RecordingsHidden):
        await world.service.list_for_meeting(Actor(STRANGER), meeting)
    private = await world.meeting(settings=MeetingSettings(allow_recording=False))
    with pytest.raises(e.RecordingsHidden):
        await world.service.list_for_meeting(Actor(GUEST), private)
    assert await world.service.list_for_meeting(Actor(CO), private) == []


async def test_delete_refuses_an_active_recording_and_removes_objects_then_row(world):
    rec = await world.service.start(Actor(HOST), await world.meeting())
    with pytest.raises(e.RecordingStillActive):
        await world.service.delete(Actor(HOST), rec.id)
    await world.service.stop(Actor(HOST), rec.id)
    await world.service.drain()
    await world.blobs.start_upload(f"{rec.key_prefix}/left-over.webm", "video/webm")
    with pytest.raises(e.NotAllowedToRecord):
        await world.service.delete(Actor(GUEST), rec.id)
    await world.service.delete(Actor(HOST), rec.id)
    assert await world.blobs.list(rec.key_prefix + "/") == []
    assert await world.blobs.pending_uploads(rec.key_prefix + "/") == []
    with pytest.raises(e.RecordingNotFound):
        await world.recordings.get(rec.id)
    assert type((await events_of(world))[-1]) is ev.RecordingDeleted


async def test_recovery_finishes_what_a_crash_left_and_fails_what_it_cannot(world):
    meeting, other, third = await world.meeting(), await world.meeting(), await world.meeting()
    recovered = Recording.begin(recording_id=RecordingId(new_id()), meeting_id=meeting, started_by=HOST, now=NOW)
    recovered.recorder_started(now=NOW)
    empty = Recording.begin(recording_id=RecordingId(new_id()), meeting_id=other, started_by=HOST, now=NOW)
    processing = Recording.begin(recording_id=RecordingId(new_id()), meeting_id=third, started_by=HOST, now=NOW)
    processing.stop(by=HOST, now=NOW)
    processing.files_recorded([a_file(f"{processing.key_prefix}/a.webm", GUEST)])
    for r in (recovered, empty, processing):
        await world.recordings.add(r)
    world.recorder.recoverable[recovered.id] = [a_file(f"{recovered.key_prefix}/a.webm", GUEST)]
    await world.service.recover_unfinished()
    assert (await world.recordings.get(recovered.id)).state is S.COMPLETED
    assert (await world.recordings.get(processing.id)).state is S.COMPLETED
    failed = await world.recordings.get(empty.id)
    assert failed.state is S.FAILED and "before any media" in failed.failure_reason


async def test_recovery_that_cannot_reach_the_store_fails_with_the_reason(world):
    rec = Recording.begin(recording_id=RecordingId(new_id()), meeting_id=await world.meeting(), started_by=HOST,
                          now=NOW)
    await world.recordings.add(rec)
    world.recorder.fail_recover = Unavailable("the blob store is unavailable")
    await world.service.recover_unfinished()
    got = await world.recordings.get(rec.id)
    assert got.state is S.FAILED and "unavailable" in got.failure_reason


async def test_a_missing_file_has_no_link_but_the_others_do(world):
    rec = await world.service.start(Actor(HOST), await world.meeting())
    await world.service.stop(Actor(HOST), rec.id)
    await world.service.drain()
    done = await world.recordings.get(rec.id)
    await world.blobs.delete(done.files[0].key)
    with pytest.raises(BlobNotFound):
        await world.blobs.stat(done.files[0].key)
    assert len((await world.service.get(Actor(HOST), rec.id)).links) == 2
