"""A finished recording's analysis with the real in-process engine (Whisper tiny.en, the text emotion
model) on espeak-ng speech in WebM/Opus, as the recorder writes participants' files.  Synthetic speech:
the bound is not meeting accuracy (README)."""

from __future__ import annotations

import datetime as dt

import pytest

from adapters.inference.engine import InProcessEngine
from adapters.inference.models import ModelSet
from adapters.inprocess.model_catalogue import EngineModelCatalogue
from adapters.memory.analysis import InMemoryAnalysisStore
from adapters.memory.meetings import InMemoryMeetingRepository
from adapters.memory.outbox import InMemoryOutbox
from adapters.memory.recording_files import InMemoryRecordingFiles
from adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory
from adapters.memory.users import InMemoryUserRepository
from adapters.pyav.decoding import PyAvMediaDecoder
from adapters.system.clock import SystemClock
from confero_contracts.speech import SENTENCES, espeak, wer
from domain.analysis.model import AnalysisStatus
from domain.analysis.recording_analysis import RecordingAnalyser, analysis_id_for
from domain.recordings.events import RecordingCompleted
from domain.shared.ids import MeetingId, RecordingId, UserId
from ports.analysis import RecordingFileRef
from runners.workers.analysis import BoundedAnalysisQueue
from tests.support.media_files import webm_opus

pytestmark = pytest.mark.integration
T0 = dt.datetime(2030, 1, 1, 12, tzinfo=dt.timezone.utc)
ALICE, BOB = UserId("00000000-0000-4000-8000-0000000a11ce"), UserId("00000000-0000-4000-8000-000000000b0b")


async def test_two_speakers_files_become_one_attributed_transcript_and_emotion_timeline():
    engine = InProcessEngine(ModelSet())
    try:
        recordings, store, queue = InMemoryRecordingFiles(), InMemoryAnalysisStore(), BoundedAnalysisQueue()
        meetings = InMemoryMeetingRepository()
        rid, mid = RecordingId("rec-real"), MeetingId("00000000-0000-4000-8000-00000000beef")
        said = {ALICE: SENTENCES[0], BOB: SENTENCES[1]}
        for n, (user, text) in enumerate(said.items()):
            data = webm_opus(espeak(text, rate=48_000).samples)
            recordings.register(RecordingFileRef(
                recording_id=rid, meeting_id=mid, key=f"recordings/{mid}/{rid}/{user}.webm", user_id=user,
                media_type="video/webm", size=len(data), started_at=T0 + dt.timedelta(seconds=10 * n)), data)
        analyser = RecordingAnalyser(
            store=store, engine=engine, catalogue=EngineModelCatalogue(engine), decoder=PyAvMediaDecoder(),
            recordings=recordings, queue=queue, clock=SystemClock(),
            uow=InMemoryUnitOfWorkFactory(meetings, InMemoryUserRepository(), InMemoryOutbox()))
        await analyser.on_event(RecordingCompleted(occurred_at=T0, recording_id=rid, meeting_id=mid, files=2))
        await queue.join()
        job = await store.get(analysis_id_for(rid))
        assert job.status is AnalysisStatus.COMPLETED, job.error
        for user, text in said.items():
            heard = " ".join(s["text"] for s in job.result["transcript"] if s["speaker"] == user)
            assert wer(text, heard) <= 0.35, (text, heard)
        assert min(s["start_s"] for s in job.result["transcript"] if s["speaker"] == BOB) >= 10.0
        timeline = job.result["emotion_timeline"]
        assert timeline["status"] == "completed" and timeline["label"] == "transcript-based emotion tagging"
        assert len(timeline["items"]) == len(job.result["transcript"]) and all(i["emotions"] for i in timeline["items"])
    finally:
        await engine.close()
