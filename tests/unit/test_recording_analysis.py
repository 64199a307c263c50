"""A finished recording's analysis (domain/analysis/recording_analysis.py) on the fake engine: one
speaker-attributed transcript and emotion timeline per recording, whatever the deliveries."""

from __future__ import annotations

import asyncio
import datetime as dt

from domain.analysis.model import AnalysisStatus
from domain.analysis.recording_analysis import RecordingAnalyser, analysis_id_for
from domain.meetings.events import MeetingEnded
from domain.recordings.events import RecordingCompleted
from domain.shared.ids import MeetingId, RecordingId, UserId
from domain.shared.pagination import PageRequest
from ports.analysis import RecordingFileRef
from tests.support.analysis_world import HOST, MEMBER, AnalysisWorld, analysis_world
from tests.support.media_files import GARBAGE, webm_opus

T0 = dt.datetime(2030, 1, 1, 12, tzinfo=dt.timezone.utc)


async def recorded(w: AnalysisWorld, files: list[tuple[UserId | None, bytes, float]]) -> tuple[RecordingId, MeetingId]:
    """A recording of a fresh meeting with ``(user, bytes, seconds after the start)`` per file."""
    m = await w.meeting()
    rid = RecordingId(f"rec-{m.id}")
    for n, (user, data, after) in enumerate(files):
        w.recordings.register(RecordingFileRef(
            recording_id=rid, meeting_id=m.id, key=f"recordings/{m.id}/{rid}/{user}-{n}.webm", user_id=user,
            media_type="video/webm", size=len(data), started_at=T0 + dt.timedelta(seconds=after)), data)
    return rid, m.id


def completed(rid: RecordingId, mid: MeetingId) -> RecordingCompleted:
    return RecordingCompleted(occurred_at=T0, recording_id=rid, meeting_id=mid, files=2)


async def test_each_speaker_is_transcribed_on_the_recordings_time_line_and_emotion_tagged_honestly():
    w = analysis_world()
    rid, mid = await recorded(w, [(HOST.user_id, webm_opus(seconds=2.0), 0.0),
                                  (MEMBER.user_id, webm_opus(seconds=1.0), 1.5),
                                  (None, b"the meeting file is not analysed", 0.0)])
    await RecordingAnalyser.of(w.service).on_event(completed(rid, mid))
    await w.queue.join()
    job = await w.store.get(analysis_id_for(rid))
    assert job.status is AnalysisStatus.COMPLETED, job.error
    assert (job.meeting_id, job.input.recording_id, job.model) == (mid, rid, "fake-transcription")
    lines = [(s["speaker"], s["start_s"], s["text"]) for s in job.result["transcript"]]
    assert lines == [(HOST.user_id, 0.0, "word0"), (HOST.user_id, 1.0, "word1"), (MEMBER.user_id, 1.5, "word0")]
    timeline = job.result["emotion_timeline"]
    assert timeline["label"] == "transcript-based emotion tagging" and "voice" in timeline["note"]
    assert [(i["speaker"], i["start_s"]) for i in timeline["items"]] == [(s, t) for s, t, _ in lines]
    assert all(i["emotions"] for i in timeline["items"]) and timeline["status"] == "completed"
    assert [f["status"] for f in job.result["files"]] == ["completed", "completed"]
    assert [e.name for e in w.outbox.events] == ["analysis.completed"]


async def test_an_event_delivered_again_or_twice_at_once_makes_one_analysis():
    w = analysis_world()
    rid, mid = await recorded(w, [(HOST.user_id, webm_opus(seconds=1.0), 0.0)])
    analyser = RecordingAnalyser.of(w.service)
    first, second = completed(rid, mid), completed(rid, mid)
    await asyncio.gather(analyser.on_event(first), analyser.on_event(second))
    await w.queue.join()
    await analyser.on_event(first)
    await RecordingAnalyser.of(w.service).on_event(completed(rid, mid))  # another process, same store
    await w.queue.join()
    page = await w.store.list_for_meeting(mid, PageRequest())
    assert page.total == 1 and w.engine.calls["transcribe"] == 1


async def test_other_events_and_recordings_without_participant_audio_are_left_alone():
    w = analysis_world()
    rid, mid = await recorded(w, [(None, b"meeting file", 0.0)])
    analyser = RecordingAnalyser.of(w.service)
    await analyser.on_event(MeetingEnded(occurred_at=T0, meeting_id=mid, by=HOST.user_id))
    assert await analyser.analyse(rid, mid) is None
    assert (await w.store.list_for_meeting(mid, PageRequest())).total == 0


async def test_a_file_that_cannot_be_decoded_is_reported_and_the_other_speakers_kept():
    w = analysis_world()
    rid, mid = await recorded(w, [(HOST.user_id, GARBAGE, 0.0), (MEMBER.user_id, webm_opus(seconds=1.0), 0.0)])
    await RecordingAnalyser.of(w.service).on_event(completed(rid, mid))
    await w.queue.join()
    job = await w.store.get(analysis_id_for(rid))
    assert job.status is AnalysisStatus.COMPLETED
    assert [(f["speaker"], f["status"]) for f in job.result["files"]] == [(HOST.user_id, "failed"),
                                                                          (MEMBER.user_id, "completed")]
    assert {s["speaker"] for s in job.result["transcript"]} == {MEMBER.user_id}


async def test_an_engine_that_is_away_leaves_a_failed_analysis_and_the_event_handled():
    w = analysis_world()
    rid, mid = await recorded(w, [(HOST.user_id, webm_opus(seconds=1.0), 0.0)])
    w.engine.ready = False
    await RecordingAnalyser.of(w.service).on_event(completed(rid, mid))  # does not raise
    await w.queue.join()
    job = await w.store.get(analysis_id_for(rid))
    assert job.status is AnalysisStatus.FAILED and job.error["code"] == "inference_unavailable"
    assert [e.name for e in w.outbox.events] == ["analysis.failed"]


async def test_no_file_transcribed_fails_the_analysis_with_the_reason():
    w = analysis_world()
    rid, mid = await recorded(w, [(HOST.user_id, GARBAGE, 0.0)])
    await RecordingAnalyser.of(w.service).on_event(completed(rid, mid))
    await w.queue.join()
    job = await w.store.get(analysis_id_for(rid))
    assert job.status is AnalysisStatus.FAILED and job.error["code"] == "invalid_input"


async def test_a_full_queue_stores_the_analysis_failed_instead_of_waiting():
    w = analysis_world(backlog=0)
    rid, mid = await recorded(w, [(HOST.user_id, webm_opus(seconds=1.0), 0.0)])
    job = await RecordingAnalyser.of(w.service).analyse(rid, mid)
    assert job is not None and job.status is AnalysisStatus.FAILED
    assert (await w.store.get(job.id)).error["code"] == "analysis_queue_full"


async def test_a_store_that_is_away_never_reaches_the_event_feed():
    from domain.shared.errors import Unavailable

    w = analysis_world()
    rid, mid = await recorded(w, [(HOST.user_id, webm_opus(seconds=1.0), 0.0)])

    async def away(*_):
        raise Unavailable("the analysis store is down")

    w.service.store.get = away  # type: ignore[method-assign]
    await RecordingAnalyser.of(w.service).on_event(completed(rid, mid))  # does not raise
    assert w.engine.calls["transcribe"] == 0
