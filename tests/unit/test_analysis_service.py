"""The analysis use cases on memory adapters and a fake engine."""

from __future__ import annotations

import asyncio

import pytest

from domain.analysis.commands import SubmitAnalysis
from domain.analysis.errors import (
    AnalysisNotAllowed,
    AnalysisQueueFull,
    InferenceUnavailable,
    InputTooLarge,
    InvalidInput,
    NoOutput,
    RecordingFileNotFound,
)
from domain.analysis.events import AnalysisCompleted, AnalysisFailed
from domain.analysis.inference import Task
from domain.analysis.model import AnalysisStatus, InputSource
from domain.analysis.rules import AnalysisLimits
from domain.meetings.errors import MeetingNotFound
from domain.shared.events import event_from_record
from domain.shared.ids import RecordingId
from domain.shared.pagination import PageRequest
from ports.analysis import RecordingFileRef
from tests.support.analysis_world import ADMIN, HOST, MEMBER, OUTSIDER, analysis_world
from tests.support.media_files import GARBAGE, png, wav


def upload(kind: Task, data: bytes, **kw) -> SubmitAnalysis:
    return SubmitAnalysis(kind=kind, source=InputSource.UPLOAD, data=data, media_type="audio/wav", **kw)


def text(kind: Task, *texts: str) -> SubmitAnalysis:
    return SubmitAnalysis(kind=kind, source=InputSource.TEXT, texts=texts)


async def test_a_short_clip_is_transcribed_before_submit_returns_and_stored_with_its_model():
    w = analysis_world()
    job = await w.service.submit(OUTSIDER, upload(Task.TRANSCRIPTION, wav(2.5)))
    assert job.status is AnalysisStatus.COMPLETED and job.model == "fake-transcription" and job.model_version == "1"
    assert job.result["text"] == "word0 word1 word2" and job.confidence == 0.9
    assert job.result["label"] == "speech transcription" and job.input.duration_s == pytest.approx(2.5, abs=0.05)
    assert (await w.store.get(job.id)).result == job.result


async def test_text_emotion_is_named_as_transcript_based_tagging_with_its_note():
    w = analysis_world()
    job = await w.service.submit(OUTSIDER, text(Task.TEXT_EMOTION, "I am so glad", "This is sad"))
    assert job.result["label"] == "transcript-based emotion tagging" and "voice" in job.result["note"]
    assert [i["emotions"][0]["label"] for i in job.result["items"]] == ["joy", "sadness"]


async def test_emotion_of_audio_tags_the_transcript_as_a_timeline():
    w = analysis_world()
    job = await w.service.submit(OUTSIDER, upload(Task.TEXT_EMOTION, wav(2.0)))
    assert [(i["start_s"], i["text"]) for i in job.result["items"]] == [(0.0, "word0"), (1.0, "word1")]
    assert job.result["transcription_model"] == "fake-transcription:1"


async def test_the_synthetic_speech_score_carries_its_error_rates_and_never_claims_detection():
    w = analysis_world()
    job = await w.service.submit(OUTSIDER, upload(Task.SYNTHETIC_SPEECH_RISK, wav(1.0)))
    assert job.result["experimental"] is True and job.result["error_rates"]["human_flagged_as_synthetic_unseen_sources"]
    assert "deepfake" not in str(job.result).lower() and job.result["label"].startswith("experimental")


async def test_denoising_keeps_a_wav_to_download_and_enhancing_a_png():
    w = analysis_world()
    job = await w.service.submit(OUTSIDER, upload(Task.DENOISE, wav(1.0), options={"method": "rnnoise"}))
    data, media_type, name = await w.service.output(OUTSIDER, job.id)
    assert media_type == "audio/wav" and data.startswith(b"RIFF") and name.endswith(".wav")
    assert job.result["sample_rate"] == 48_000 and job.options == {"method": "rnnoise"}
    frame = await w.service.submit(OUTSIDER, SubmitAnalysis(kind=Task.VIDEO_ENHANCE, source=InputSource.UPLOAD,
                                                            data=png(16, 8), options={"operations": ["upscale2x"]}))
    assert (frame.result["width"], frame.result["height"]) == (32, 16)
    assert (await w.service.output(OUTSIDER, frame.id))[1] == "image/png"
    with pytest.raises(NoOutput):
        await w.service.output(OUTSIDER, (await w.service.submit(OUTSIDER, text(Task.TEXT_SENTIMENT, "ok"))).id)


@pytest.mark.parametrize(("cmd", "error", "reason"), [
    (upload(Task.TRANSCRIPTION, b""), InvalidInput, "empty"),
    (upload(Task.TRANSCRIPTION, GARBAGE), InvalidInput, "corrupt"),
    (upload(Task.TRANSCRIPTION, png()), InvalidInput, "not_audio"),
    (upload(Task.TRANSCRIPTION, wav(0.2, rate=4000)), InvalidInput, "unsupported_rate"),
    (text(Task.TRANSCRIPTION, "hello"), InvalidInput, "text_not_accepted"),
    (text(Task.TEXT_SENTIMENT), InvalidInput, "empty"),
    (text(Task.TEXT_SENTIMENT, "x" * 5001), InputTooLarge, "text_too_long"),
    (upload(Task.DENOISE, wav(0.5), options={"method": "magic"}), InvalidInput, "unknown_method"),
])
async def test_bad_input_is_refused_with_a_reason_and_stores_nothing(cmd, error, reason):
    w = analysis_world()
    with pytest.raises(error) as caught:
        await w.service.submit(OUTSIDER, cmd)
    assert caught.value.details["reason"] == reason
    assert (await w.service.list_mine(OUTSIDER, PageRequest())).total == 0


async def test_size_and_duration_limits_come_from_the_limits():
    w = analysis_world(AnalysisLimits(max_upload_bytes=10_000, max_duration_s=1.0))
    with pytest.raises(InputTooLarge) as big:
        await w.service.submit(OUTSIDER, upload(Task.TRANSCRIPTION, wav(1.0, rate=16_000)))
    assert big.value.details["reason"] == "too_large"
    w = analysis_world(AnalysisLimits(max_duration_s=1.0))
    with pytest.raises(InputTooLarge) as long:
        await w.service.submit(OUTSIDER, upload(Task.TRANSCRIPTION, wav(2.0, rate=16_000)))
    assert long.value.details["reason"] == "too_long"


async def test_a_long_clip_becomes_a_queued_job_that_completes_in_the_background():
    w = analysis_world(AnalysisLimits(sync_max_duration_s=1.0))
    job = await w.service.submit(OUTSIDER, upload(Task.TRANSCRIPTION, wav(3.0)))
    assert job.status is AnalysisStatus.QUEUED
    await w.queue.join()
    done = await w.service.get(OUTSIDER, job.id)
    assert done.status is AnalysisStatus.COMPLETED and done.result["text"] == "word0 word1 word2"
    assert done.queued_s is not None and done.run_s is not None


async def test_a_full_backlog_refuses_more_long_jobs_and_records_the_refusal():
    w = analysis_world(AnalysisLimits(sync_max_duration_s=0.5), backlog=2)
    w.engine.gate = asyncio.Event()
    for _ in range(2):
        await w.service.submit(OUTSIDER, upload(Task.TRANSCRIPTION, wav(1.0)))
    with pytest.raises(AnalysisQueueFull):
        await w.service.submit(OUTSIDER, upload(Task.TRANSCRIPTION, wav(1.0)))
    w.engine.gate.set()
    await w.queue.join()
    statuses = sorted(j.status.value for j in (await w.service.list_mine(OUTSIDER, PageRequest())).items)
    assert statuses == ["completed", "completed", "failed"]


async def test_long_jobs_run_one_at_a_time_with_concurrency_one():
    w = analysis_world(AnalysisLimits(sync_max_duration_s=0.5), backlog=8)
    w.engine.gate = asyncio.Event()
    await asyncio.gather(*(w.service.submit(OUTSIDER, upload(Task.TRANSCRIPTION, wav(1.0))) for _ in range(3)))
    await asyncio.sleep(0.05)
    assert w.engine.calls["transcribe"] == 1  # the others wait for the slot
    w.engine.gate.set()
    await w.queue.join()
    assert w.engine.calls["transcribe"] == 3


async def test_no_ready_node_fails_the_job_raises_unavailable_and_publishes_a_failure():
    w = analysis_world()
    w.engine.ready = False
    with pytest.raises(InferenceUnavailable):
        await w.service.submit(OUTSIDER, upload(Task.TRANSCRIPTION, wav(1.0)))
    [job] = (await w.service.list_mine(OUTSIDER, PageRequest())).items
    assert job.status is AnalysisStatus.FAILED and job.error["code"] == "inference_unavailable"
    [event] = w.outbox.events
    assert isinstance(event, AnalysisFailed) and event.analysis_id == job.id


async def test_a_completion_is_published_as_a_typed_event_that_survives_the_wire():
    w = analysis_world()
    job = await w.service.submit(OUTSIDER, text(Task.TEXT_SENTIMENT, "glad"))
    [event] = w.outbox.events
    assert isinstance(event, AnalysisCompleted) and event.model == "fake-text_sentiment"
    again = event_from_record(event.name, event.event_id, event.occurred_at, event.payload())
    assert again == event and again.analysis_id == job.id


async def test_members_and_hosts_analyse_a_meetings_media_and_others_do_not():
    w = analysis_world()
    m = await w.meeting()
    for who in (HOST, MEMBER):
        job = await w.service.submit(who, upload(Task.TRANSCRIPTION, wav(1.0), meeting_id=m.id))
        assert job.meeting_id == m.id
    for who in (OUTSIDER, ADMIN):
        with pytest.raises(AnalysisNotAllowed):
            await w.service.submit(who, upload(Task.TRANSCRIPTION, wav(1.0), meeting_id=m.id))


async def test_a_meeting_with_analysis_off_lets_only_its_hosts_analyse():
    w = analysis_world()
    m = await w.meeting(allow_analysis=False)
    with pytest.raises(AnalysisNotAllowed) as caught:
        await w.service.submit(MEMBER, upload(Task.TRANSCRIPTION, wav(1.0), meeting_id=m.id))
    assert caught.value.details["reason"] == "analysis_off"
    assert (await w.service.submit(HOST, upload(Task.TRANSCRIPTION, wav(1.0), meeting_id=m.id))).status.finished


async def test_an_unknown_meeting_is_not_found():
    w = analysis_world()
    with pytest.raises(MeetingNotFound):
        await w.service.submit(HOST, upload(Task.TRANSCRIPTION, wav(1.0), meeting_id="0" * 36))


async def test_a_recording_file_is_analysed_for_its_meeting_and_participant():
    w = analysis_world()
    m = await w.meeting()
    ref = RecordingFileRef(recording_id=RecordingId("r-1"), meeting_id=m.id, key="rec/r-1/member.wav",
                           user_id=MEMBER.user_id, media_type="audio/wav")
    w.recordings.register(ref, wav(1.0))
    cmd = SubmitAnalysis(kind=Task.TRANSCRIPTION, source=InputSource.RECORDING, recording_id=ref.recording_id,
                         file_key=ref.key)
    job = await w.service.submit(MEMBER, cmd)
    assert (job.meeting_id, job.participant_id, job.input.recording_id) == (m.id, MEMBER.user_id, "r-1")
    with pytest.raises(AnalysisNotAllowed):
        await w.service.submit(OUTSIDER, cmd)
    with pytest.raises(RecordingFileNotFound):
        await w.service.submit(MEMBER, SubmitAnalysis(kind=Task.TRANSCRIPTION, source=InputSource.RECORDING,
                                                      recording_id=RecordingId("r-1"), file_key="nope"))


async def test_results_are_seen_by_the_requester_the_meetings_members_and_admins_only():
    w = analysis_world()
    m = await w.meeting()
    job = await w.service.submit(MEMBER, upload(Task.TRANSCRIPTION, wav(1.0), meeting_id=m.id))
    for who in (MEMBER, HOST, ADMIN):
        assert (await w.service.get(who, job.id)).id == job.id
    with pytest.raises(AnalysisNotAllowed):
        await w.service.get(OUTSIDER, job.id)
    private = await w.service.submit(MEMBER, text(Task.TEXT_SENTIMENT, "mine"))
    with pytest.raises(AnalysisNotAllowed):
        await w.service.get(HOST, private.id)
    assert [j.id for j in (await w.service.list_for_meeting(HOST, m.id, PageRequest())).items] == [job.id]
    with pytest.raises(AnalysisNotAllowed):
        await w.service.list_for_meeting(OUTSIDER, m.id, PageRequest())


async def test_models_and_nodes_come_from_the_engine():
    w = analysis_world()
    assert {m.task for m in await w.service.models()} == set(Task)
    [node] = await w.service.nodes()
    assert node.ready


async def test_submissions_per_user_are_rate_limited():
    from adapters.memory.limits import InMemoryAttemptLimiter
    from domain.shared.limits import AttemptsExhausted

    w = analysis_world(AnalysisLimits(submissions_per_minute=2))
    w.service.limiter = InMemoryAttemptLimiter()
    for _ in range(2):
        await w.service.submit(OUTSIDER, text(Task.TEXT_SENTIMENT, "fine"))
    with pytest.raises(AttemptsExhausted) as caught:
        await w.service.submit(OUTSIDER, text(Task.TEXT_SENTIMENT, "fine"))
    assert caught.value.retry_after >= 1
    await w.service.submit(HOST, text(Task.TEXT_SENTIMENT, "another user has their own allowance"))


async def _chunks(pcm: bytes, size: int = 3200):
    for i in range(0, len(pcm), size):
        yield pcm[i:i + size]


def _pcm(seconds: float, loud: bool = True) -> bytes:
    import math
    import struct
    n = int(seconds * 16_000)
    return b"".join(struct.pack("<h", int((6000 if loud else 0) * math.sin(i / 5))) for i in range(n))


async def test_live_audio_is_cut_at_pauses_and_each_window_transcribed_with_stream_times():
    w = analysis_world()
    pcm = _pcm(2.5) + _pcm(0.5, loud=False) + _pcm(3.0)
    captions = [c async for c in w.service.stream_transcription(MEMBER, None, _chunks(pcm))]
    assert len(captions) == 2 and captions[0].start_s == 0.0
    assert 2.5 <= captions[1].start_s <= 3.0  # the cut fell in the pause


async def test_live_audio_without_pauses_is_cut_at_the_longest_window():
    from domain.analysis.windows import windows
    got = [win async for win in windows(_chunks(_pcm(11.0)))]
    assert [round(win.audio.duration_s, 2) for win in got] == [5.0, 5.0, 1.0]
    assert [win.start_s for win in got] == [0.0, 5.0, 10.0]


async def test_a_meeting_stream_is_for_its_members_only_and_odd_bytes_are_invalid():
    w = analysis_world()
    m = await w.meeting()
    with pytest.raises(AnalysisNotAllowed):
        [c async for c in w.service.stream_transcription(OUTSIDER, m.id, _chunks(_pcm(1.0)))]
    with pytest.raises(InvalidInput):
        [c async for c in w.service.stream_transcription(MEMBER, m.id, _chunks(b"\x00" * 3, size=3))]


async def test_a_kind_no_model_offers_is_refused_not_an_outage():
    from domain.analysis.errors import FeatureNotOffered

    w = analysis_world()
    offered = await w.engine.models()

    async def without_risk():
        return [m for m in offered if m.task is not Task.SYNTHETIC_SPEECH_RISK]

    w.engine.models = without_risk
    with pytest.raises(FeatureNotOffered):
        await w.service.submit(OUTSIDER, upload(Task.SYNTHETIC_SPEECH_RISK, wav(1.0)))
    [job] = (await w.service.list_mine(OUTSIDER, PageRequest())).items
    assert job.status is AnalysisStatus.FAILED and job.error["code"] == "feature_not_offered"


async def test_a_users_streams_count_against_the_allowance_but_the_caption_taps_do_not():
    from adapters.memory.limits import InMemoryAttemptLimiter
    from domain.shared.limits import AttemptsExhausted

    w = analysis_world(AnalysisLimits(submissions_per_minute=2))
    w.service.limiter = InMemoryAttemptLimiter()
    for _ in range(5):  # a fast talker: one stream per utterance, more than the allowance
        got = [c async for c in w.service.stream_transcription(MEMBER, None, _chunks(_pcm(0.5)), metered=False)]
        assert len(got) == 1
    for _ in range(2):
        [c async for c in w.service.stream_transcription(MEMBER, None, _chunks(_pcm(0.5)))]
    with pytest.raises(AttemptsExhausted):
        [c async for c in w.service.stream_transcription(MEMBER, None, _chunks(_pcm(0.5)))]
