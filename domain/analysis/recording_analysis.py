"""A finished recording's analysis: each participant's file transcribed (the speaker is the file's
participant), every transcript segment tagged with emotions from its words, both on the recording's
own time line, stored as one analysis linked to the meeting and the recording.

It runs when the recordings context says a recording completed (the ``recording.completed`` event,
matched by name so analysis depends on no recordings code), in the bounded analysis queue.  The
analysis id is derived from the recording id, so an event delivered twice, or to two processes,
yields one analysis.  Nothing here can fail the recording: what goes wrong is stored as a failed
analysis (or, per file, as that file's error in the result)."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import OrderedDict
from typing import Any

from attrs import define, field

from domain.analysis.answers import scores_json, segments_json
from domain.analysis.errors import AnalysisNotFound, AnalysisQueueFull, InvalidInput
from domain.analysis.inference import Task
from domain.analysis.model import LABELS, NOTES, AnalysisInput, AnalysisJob, AnalysisStatus, InputSource
from domain.analysis.rules import AnalysisLimits
from domain.shared.errors import DomainError, Unavailable
from domain.shared.events import DomainEvent
from domain.shared.ids import AnalysisId, MeetingId, RecordingId, UserId
from ports.analysis import AnalysisQueue, AnalysisStore, MediaDecoder, ModelCatalogue, RecordingFileRef, RecordingFiles
from ports.clock import Clock
from ports.inference import InferenceEngine
from ports.uow import UnitOfWorkFactory

log = logging.getLogger("domain.analysis")
COMPLETED_EVENT = "recording.completed"
# No person asked for it (the nil UUID, nobody's id): the meeting's hosts and members and administrators see it.
REQUESTED_BY = UserId("00000000-0000-0000-0000-000000000000")
OPTIONS = {"recording_analysis": True}
_NAMESPACE = uuid.UUID("6f1c2a8e-5b0d-4c1e-9a51-2f3c4d5e6f70")


def analysis_id_for(recording_id: RecordingId) -> AnalysisId:
    """The one analysis of a recording (stable across deliveries and processes)."""
    return AnalysisId(str(uuid.uuid5(_NAMESPACE, f"recording:{recording_id}")))


@define(kw_only=True)
class RecordingAnalyser:
    store: AnalysisStore
    engine: InferenceEngine
    catalogue: ModelCatalogue
    decoder: MediaDecoder
    recordings: RecordingFiles
    queue: AnalysisQueue
    uow: UnitOfWorkFactory
    clock: Clock
    limits: AnalysisLimits = AnalysisLimits()
    _handled: OrderedDict[str, None] = field(factory=OrderedDict, init=False)
    _starting: set[RecordingId] = field(factory=set, init=False)

    @classmethod
    def of(cls, service: Any) -> RecordingAnalyser:
        """With the parts of an AnalysisService (one engine, store and queue per process)."""
        return cls(store=service.store, engine=service.engine, catalogue=service.catalogue, decoder=service.decoder,
                   recordings=service.recordings, queue=service.queue, uow=service.uow, clock=service.clock,
                   limits=service.limits)

    async def on_event(self, event: DomainEvent) -> None:
        """Never raises for a recording's sake: a failure is logged and, when the job exists, stored."""
        if getattr(event, "name", None) != COMPLETED_EVENT or event.event_id in self._handled:
            return
        try:
            await self.analyse(RecordingId(event.recording_id), MeetingId(event.meeting_id))  # type: ignore[attr-defined]
        except DomainError as err:
            # Not retried through the feed: a redelivery would repeat the other handlers' effects for
            # nothing the recording needs.  The analysis can be asked for by reference instead.
            log.warning("a recording could not be analysed", extra={"recording_id": event.recording_id,  # type: ignore[attr-defined]
                                                                   "error": err.code})
        except Exception:
            log.exception("a recording's analysis could not be queued", extra={"recording_id": event.recording_id})  # type: ignore[attr-defined]
        self._handled[event.event_id] = None
        while len(self._handled) > 10_000:
            self._handled.popitem(last=False)

    async def analyse(self, recording_id: RecordingId, meeting_id: MeetingId) -> AnalysisJob | None:
        """Queues the recording's analysis and returns it queued (or the one stored before, or None when
        the recording has no participant audio, or another delivery in this process is queueing it).  A
        full queue stores it failed.  Across processes the id makes the stored result one analysis (a
        duplicate delivery to a second process at the same moment may compute it twice)."""
        if recording_id in self._starting:  # two deliveries at once in this process: the first one queues it
            return None
        self._starting.add(recording_id)
        try:
            return await self._queue(recording_id, meeting_id)
        finally:
            self._starting.discard(recording_id)

    async def _queue(self, recording_id: RecordingId, meeting_id: MeetingId) -> AnalysisJob | None:
        analysis_id = analysis_id_for(recording_id)
        try:
            return await self.store.get(analysis_id)
        except AnalysisNotFound:
            pass
        files = [f for f in await self.recordings.participant_files(recording_id) if f.has_audio]
        if not files:
            return None
        job = AnalysisJob.queue(
            analysis_id=analysis_id, kind=Task.TRANSCRIPTION, requested_by=REQUESTED_BY, meeting_id=meeting_id,
            participant_id=None, options=dict(OPTIONS), now=self._now(),
            source=AnalysisInput(source=InputSource.RECORDING, media_type=files[0].media_type,
                                 size=sum(f.size or 0 for f in files), recording_id=recording_id))
        await self.store.put(job)
        try:
            self.queue.enqueue(lambda: self._run(job, files))
        except AnalysisQueueFull as err:
            await self._finish_failed(job, err)
        return job

    async def _run(self, job: AnalysisJob, files: list[RecordingFileRef]) -> None:
        job.start(self._now())
        await self.store.put(job)
        try:
            result, model, version, confidence = await self._analyse_files(files)
        except DomainError as err:
            await self._finish_failed(job, err)
            return
        except Exception as exc:
            log.exception("recording analysis failed unexpectedly", extra={"analysis_id": job.id})
            await self._finish_failed(job, DomainError(f"internal error ({type(exc).__name__})"))
            return
        job.complete(model=model, model_version=version, result=result, confidence=confidence,
                     output_media_type=None, now=self._now())
        await self._save(job)

    async def _analyse_files(self, files: list[RecordingFileRef]) -> tuple[dict[str, Any], str, str, float | None]:
        asr = await self.catalogue.for_task(Task.TRANSCRIPTION)
        origin = min((f.started_at for f in files if f.started_at is not None), default=None)
        transcript: list[dict[str, Any]] = []
        outcomes: list[dict[str, Any]] = []
        for f in files:  # one file at a time: the queue bounds recordings, this bounds one recording's memory
            offset = (f.started_at - origin).total_seconds() if origin and f.started_at else 0.0
            try:
                data = await self.recordings.read(f, self.limits.max_upload_bytes)
                audio = await self.decoder.decode_audio(data, sample_rate=16_000,
                                                        max_duration_s=self.limits.max_duration_s)
                t = await self.engine.transcribe(audio, timeout=self.limits.inference_timeout_s)
            except Unavailable:
                raise  # the engine or the store is away: every file would fail alike
            except DomainError as err:
                outcomes.append({"key": f.key, "speaker": f.user_id, "status": "failed", "error": err.code or "error",
                                 "message": err.message})
                continue
            segments = segments_json(t)
            outcomes.append({"key": f.key, "speaker": f.user_id, "status": "completed", "language": t.language,
                             "offset_s": round(offset, 3), "segments": len(segments)})
            transcript += [{"speaker": f.user_id, **s, "start_s": round(s["start_s"] + offset, 3),
                            "end_s": round(s["end_s"] + offset, 3)} for s in segments]
        if not any(o["status"] == "completed" for o in outcomes):
            first = outcomes[0]
            raise InvalidInput(f"no participant's file could be transcribed ({first['message']})",
                               reason=first["error"])
        transcript.sort(key=lambda s: (s["start_s"], s["speaker"] or ""))
        timeline = await self._emotions(transcript)
        confidences = [s["confidence"] for s in transcript]
        return ({"label": "speaker-attributed transcript with " + LABELS[Task.TEXT_EMOTION],
                 "transcript": transcript, "emotion_timeline": timeline, "files": outcomes},
                asr.name, asr.version,
                round(sum(confidences) / len(confidences), 4) if confidences else None)

    async def _emotions(self, transcript: list[dict[str, Any]]) -> dict[str, Any]:
        """Emotion tags per segment; a missing emotion model leaves the timeline empty with the reason,
        the transcript is kept."""
        head = {"label": LABELS[Task.TEXT_EMOTION], "note": NOTES[Task.TEXT_EMOTION]}
        try:
            model = await self.catalogue.for_task(Task.TEXT_EMOTION)
            items: list[dict[str, Any]] = []
            step = self.limits.max_texts
            for i in range(0, len(transcript), step):
                part = transcript[i:i + step]
                tags = await self.engine.text_emotion([s["text"][:self.limits.max_text_chars] for s in part],
                                                      timeout=self.limits.inference_timeout_s)
                items += [{"speaker": s["speaker"], "start_s": s["start_s"], "end_s": s["end_s"],
                           "emotions": scores_json(t)} for s, t in zip(part, tags, strict=True)]
        except DomainError as err:
            return head | {"status": "failed", "error": err.code or "error", "message": err.message, "items": []}
        return head | {"status": "completed", "model": f"{model.name}:{model.version}", "items": items}

    def _now(self) -> dt.datetime:
        now = self.clock.now()
        return now.replace(microsecond=now.microsecond // 1000 * 1000)

    async def _finish_failed(self, job: AnalysisJob, err: DomainError) -> None:
        if job.status is AnalysisStatus.COMPLETED or job.status is AnalysisStatus.FAILED:
            return
        job.fail(code=err.code or "internal", message=err.message, now=self._now())
        try:
            await self._save(job)
        except DomainError:
            log.warning("could not record a failed recording analysis", extra={"analysis_id": job.id})

    async def _save(self, job: AnalysisJob) -> None:
        await self.store.put(job)
        async with self.uow() as uow:
            uow.collect(*job.pull_events())
            await uow.commit()
