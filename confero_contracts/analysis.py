"""Contract for ports.analysis.AnalysisStore (jobs by id, by meeting and by requester; outputs)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from domain.analysis.errors import AnalysisNotFound, NoOutput
from domain.analysis.inference import Task
from domain.analysis.model import AnalysisInput, AnalysisJob, AnalysisStatus, InputSource
from domain.shared.ids import AnalysisId, MeetingId, RecordingId, UserId, new_id
from domain.shared.pagination import PageRequest
from ports.analysis import AnalysisStore

T0 = dt.datetime(2026, 3, 1, 9, 0, 0, 123000, tzinfo=dt.timezone.utc)  # milliseconds: what the port keeps


def a_job(*, meeting: str | None = None, user: str = "u-1", at: dt.datetime = T0, kind: Task = Task.TRANSCRIPTION,
          source: InputSource = InputSource.UPLOAD) -> AnalysisJob:
    return AnalysisJob.queue(
        analysis_id=AnalysisId(new_id()), kind=kind, requested_by=UserId(user),
        meeting_id=MeetingId(meeting) if meeting else None, participant_id=UserId("p-1") if meeting else None,
        options={"method": "rnnoise"} if kind is Task.DENOISE else {}, now=at,
        source=AnalysisInput(source=source, media_type="audio/wav", size=1234, duration_s=2.5, filename="a b.wav",
                             recording_id=RecordingId("r-1") if source is InputSource.RECORDING else None,
                             file_key="rec/r-1/a.webm" if source is InputSource.RECORDING else None,
                             texts=("I am glad", "ünïcødé ✓") if source is InputSource.TEXT else ()))


def completed(job: AnalysisJob) -> AnalysisJob:
    job.start(job.created_at + dt.timedelta(milliseconds=5))
    job.complete(model="whisper-tiny.en", model_version="1", confidence=0.875, output_media_type=None,
                 now=job.created_at + dt.timedelta(seconds=1, milliseconds=7),
                 result={"language": "en", "text": "hello there",
                         "segments": [{"start_s": 0.0, "end_s": 1.25, "text": "hello there", "confidence": 0.875}],
                         "nested": {"list": [1, 2.5, None, True], "empty": {}}})
    job.pull_events()
    return job


class AnalysisStoreContract:
    @pytest.fixture
    async def store(self) -> AnalysisStore:
        raise NotImplementedError

    async def test_a_stored_job_comes_back_equal(self, store):
        for job in (a_job(), a_job(meeting="m-1", source=InputSource.RECORDING), a_job(source=InputSource.TEXT,
                                                                                       kind=Task.TEXT_EMOTION)):
            await store.put(job)
            assert await store.get(job.id) == job

    async def test_times_come_back_aware_in_utc(self, store):
        job = completed(a_job())
        await store.put(job)
        got = await store.get(job.id)
        assert got.created_at.utcoffset() == dt.timedelta(0) and got.finished_at == job.finished_at

    async def test_a_completed_job_keeps_its_result_model_and_timings(self, store):
        job = completed(a_job(meeting="m-1"))
        await store.put(job)
        got = await store.get(job.id)
        assert got == job and got.status is AnalysisStatus.COMPLETED and got.run_s == job.run_s

    async def test_a_failed_job_keeps_its_error(self, store):
        job = a_job()
        job.fail(code="inference_unavailable", message="no node is ready", now=T0 + dt.timedelta(seconds=1))
        await store.put(job)
        assert (await store.get(job.id)).error == {"code": "inference_unavailable", "message": "no node is ready"}

    async def test_writing_a_job_twice_keeps_one_and_a_later_state_replaces_the_earlier(self, store):
        job = a_job(meeting="m-2")
        await store.put(job)
        await store.put(job)
        job.start(T0 + dt.timedelta(seconds=1))
        await store.put(job)
        assert (await store.get(job.id)).status is AnalysisStatus.RUNNING
        assert (await store.list_for_meeting(MeetingId("m-2"), PageRequest())).total == 1

    async def test_the_store_keeps_a_copy(self, store):
        job = a_job()
        await store.put(job)
        job.start(T0)
        assert (await store.get(job.id)).status is AnalysisStatus.QUEUED

    async def test_an_unknown_id_is_not_found(self, store):
        with pytest.raises(AnalysisNotFound):
            await store.get(AnalysisId(new_id()))

    async def test_a_meeting_lists_its_own_jobs_newest_first_in_pages(self, store):
        jobs = [a_job(meeting="m-3", at=T0 + dt.timedelta(seconds=i)) for i in range(5)]
        await store.put(a_job(meeting="m-other"))
        for job in jobs:
            await store.put(job)
        first = await store.list_for_meeting(MeetingId("m-3"), PageRequest(offset=0, limit=2))
        rest = await store.list_for_meeting(MeetingId("m-3"), PageRequest(offset=2, limit=10))
        assert first.total == rest.total == 5
        assert [j.id for j in (*first.items, *rest.items)] == [j.id for j in reversed(jobs)]
        assert (first.offset, first.limit) == (0, 2)

    async def test_jobs_made_at_the_same_time_are_ordered_by_id(self, store):
        jobs = [a_job(meeting="m-4") for _ in range(4)]
        for job in jobs:
            await store.put(job)
        found = await store.list_for_meeting(MeetingId("m-4"), PageRequest())
        assert [j.id for j in found.items] == sorted((j.id for j in jobs), reverse=True)

    async def test_a_requester_lists_only_their_own_jobs(self, store):
        mine = [a_job(user="alice", at=T0 + dt.timedelta(minutes=i)) for i in range(3)]
        await store.put(a_job(user="bob"))
        for job in mine:
            await store.put(job)
        found = await store.list_for_user(UserId("alice"), PageRequest(limit=100))
        assert [j.id for j in found.items] == [j.id for j in reversed(mine)] and found.total == 3
        assert (await store.list_for_user(UserId("nobody"), PageRequest())).items == ()

    async def test_a_page_past_the_end_is_empty_with_the_total(self, store):
        await store.put(a_job(meeting="m-5"))
        found = await store.list_for_meeting(MeetingId("m-5"), PageRequest(offset=10, limit=5))
        assert found.items == () and found.total == 1

    async def test_outputs_come_back_with_their_media_type_and_a_missing_one_is_no_output(self, store):
        job = a_job(kind=Task.DENOISE)
        await store.put(job)
        with pytest.raises(NoOutput):
            await store.get_output(job.id)
        data = bytes(range(256)) * 40
        await store.put_output(job.id, data, "audio/wav")
        await store.put_output(job.id, data + b"x", "audio/wav")
        assert await store.get_output(job.id) == (data + b"x", "audio/wav")

    async def test_concurrent_writers_of_different_jobs_lose_nothing(self, store):
        jobs = [a_job(meeting="m-6", at=T0 + dt.timedelta(milliseconds=i)) for i in range(30)]
        await asyncio.gather(*(store.put(j) for j in jobs))
        assert (await store.list_for_meeting(MeetingId("m-6"), PageRequest(limit=100))).total == 30

    async def test_concurrent_writes_of_one_job_leave_one_job(self, store):
        job = a_job(meeting="m-7")
        await asyncio.gather(*(store.put(job) for _ in range(10)))
        assert (await store.list_for_meeting(MeetingId("m-7"), PageRequest())).total == 1
