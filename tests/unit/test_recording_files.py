"""RecordingFiles: the memory adapter and the one over the recordings context (repository + blob store)
pass the contract; the latter also follows the recordings' own visibility and state rules."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from attrs import evolve

from adapters.inprocess.recording_files import StoredRecordingFiles
from adapters.memory.blobs import InMemoryBlobStore
from adapters.memory.meetings import InMemoryMeetingRepository
from adapters.memory.outbox import InMemoryOutbox
from adapters.memory.recording_files import InMemoryRecordingFiles
from adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory
from adapters.memory.users import InMemoryUserRepository
from confero_contracts.recording_files import RecordingFilesContract
from domain.analysis.errors import RecordingFileNotFound
from domain.meetings.model import Meeting
from domain.recordings.media import RecordedFile
from domain.recordings.model import Recording
from domain.shared.actor import Actor
from domain.shared.ids import MeetingId, RecordingId, UserId, new_id
from ports.analysis import RecordingFileRef

NOW = dt.datetime(2030, 1, 1, 12, tzinfo=dt.timezone.utc)


class MemoryHarness:
    def __init__(self) -> None:
        self.recordings = InMemoryRecordingFiles()

    async def add(self, rid: RecordingId, mid: MeetingId, files: list[tuple[str, UserId | None, bytes]]) -> None:
        for key, user, data in files:
            self.recordings.register(RecordingFileRef(recording_id=rid, meeting_id=mid, key=key, user_id=user,
                                                      media_type="video/webm", size=len(data)), data)


class StoredHarness:
    """``uow``: any UnitOfWorkFactory (memory here; SQLite and PostgreSQL in tests/integration)."""

    def __init__(self, uow: Any = None) -> None:
        self.meetings = InMemoryMeetingRepository()
        self.uow = uow or InMemoryUnitOfWorkFactory(self.meetings, InMemoryUserRepository(), InMemoryOutbox())
        self.blobs = InMemoryBlobStore()
        self.recordings = StoredRecordingFiles(self.uow, self.blobs)

    async def add(self, rid: RecordingId, mid: MeetingId, files: list[tuple[str, UserId | None, bytes]],
                  *, finish: bool = True) -> Recording:
        recorded = []
        for key, user, data in files:
            await self.blobs.put(key, data, "video/webm")
            recorded.append(RecordedFile(key=key, user_id=user, content_type="video/webm", size=len(data),
                                         duration_s=1.0, started_at=NOW, ended_at=NOW + dt.timedelta(seconds=1),
                                         has_video=False, has_audio=True))
        r = Recording.begin(recording_id=rid, meeting_id=mid, started_by=UserId(new_id()), now=NOW)
        r.recorder_started(now=NOW)
        if finish:
            r.stop(by=None, now=NOW)
            r.files_recorded([f for f in recorded if f.user_id is not None])
            meeting_file = next((f for f in recorded if f.user_id is None), None)
            r.complete(meeting_file, now=NOW)
        async with self.uow() as uow:
            await uow.recordings.add(r)
            await uow.commit()
        return r


class TestInMemoryRecordingFiles(RecordingFilesContract):
    @pytest.fixture
    async def harness(self):
        return MemoryHarness()


class TestStoredRecordingFiles(RecordingFilesContract):
    @pytest.fixture
    async def harness(self):
        return StoredHarness()


HOST, GUEST, OUTSIDER = (Actor(UserId(new_id())) for _ in range(3))


async def meeting_of(h: StoredHarness, *, allow_recording: bool = True) -> Meeting:
    m = Meeting.schedule(meeting_id=MeetingId(new_id()), host_id=HOST.user_id, title="Review", start_time=NOW, now=NOW)
    m.settings = evolve(m.settings, allow_recording=allow_recording)
    m.join(GUEST.user_id, email=None, password_ok=None, now=NOW)
    m.pull_events()
    await h.meetings.add(m)
    return m


@pytest.mark.parametrize(("allow_recording", "guest_sees"), [(True, True), (False, False)])
async def test_a_recording_is_visible_as_the_recordings_context_decides(allow_recording, guest_sees):
    h = StoredHarness()
    m = await meeting_of(h, allow_recording=allow_recording)
    rid = RecordingId(new_id())
    await h.add(rid, m.id, [("recordings/a.webm", GUEST.user_id, b"a")])
    assert await h.recordings.visible_to(HOST, rid)
    assert await h.recordings.visible_to(GUEST, rid) is guest_sees
    assert not await h.recordings.visible_to(OUTSIDER, rid)


async def test_a_recording_still_running_offers_no_file():
    h = StoredHarness()
    rid = RecordingId(new_id())
    await h.add(rid, MeetingId(new_id()), [("recordings/a.webm", GUEST.user_id, b"a")], finish=False)
    with pytest.raises(RecordingFileNotFound):
        await h.recordings.participant_files(rid)
