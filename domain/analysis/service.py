"""Analysis use cases: submit (answered at once when short, queued when long), read, list, download.

Results live in the analysis store (MongoDB in production), which has no transaction shared with the
outbox: a job is stored first and its AnalysisCompleted/AnalysisFailed event is committed through a
unit of work right after, so a crash in between loses the event, never the result."""

from __future__ import annotations

import datetime as dt
import logging
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from attrs import define, frozen

from domain.analysis import model as am
from domain.analysis.answers import Answering
from domain.analysis.commands import SubmitAnalysis
from domain.analysis.errors import AnalysisNotAllowed, AnalysisQueueFull, InvalidInput
from domain.analysis.inference import ModelInfo, NodeHealth, PcmAudio, Task, Transcription
from domain.analysis.model import AnalysisInput, AnalysisJob, InputSource
from domain.analysis.prepared import PreparedInput
from domain.analysis.rules import AnalysisLimits, check_may_analyse, may_list_meeting, may_read
from domain.analysis.windows import windows
from domain.meetings.errors import MeetingNotFound
from domain.meetings.model import Meeting
from domain.shared.actor import Actor
from domain.shared.errors import DomainError
from domain.shared.ids import AnalysisId, MeetingId, UserId, new_id
from domain.shared.limits import AttemptLimit
from domain.shared.pagination import Page, PageRequest
from ports.analysis import AnalysisQueue, AnalysisStore, MediaDecoder, ModelCatalogue, RecordingFiles
from ports.clock import Clock
from ports.inference import InferenceEngine
from ports.limits import AttemptLimiter
from ports.meetings import MeetingRepository
from ports.uow import UnitOfWorkFactory

log = logging.getLogger("domain.analysis")


@frozen(kw_only=True)
class Caption:
    """One window's transcript; its segments' times are relative to ``start_s`` in the stream."""

    start_s: float
    transcription: Transcription
OUTPUT_EXTENSIONS = {"audio/wav": "wav", "image/png": "png"}


@define(kw_only=True)
class AnalysisService:
    store: AnalysisStore
    engine: InferenceEngine
    catalogue: ModelCatalogue
    decoder: MediaDecoder
    meetings: MeetingRepository
    recordings: RecordingFiles
    queue: AnalysisQueue
    uow: UnitOfWorkFactory
    clock: Clock
    limits: AnalysisLimits = AnalysisLimits()
    limiter: AttemptLimiter | None = None

    async def submit(self, actor: Actor, cmd: SubmitAnalysis) -> AnalysisJob:
        """Rules: the input fits the kind (audio kinds take audio, the text kinds take text or audio,
        video enhancement takes an image); a meeting's media (a recording's file, or an upload said to be
        of a meeting) only by its members and hosts, as the meeting's settings allow; input within the
        limits.  Inputs up to ``limits.sync_max_duration_s`` are analysed before this returns (an engine
        failure is raised after the job is stored as failed); longer ones are queued and returned queued.
        """
        options = _options(cmd.kind, cmd.options)
        await self._count_submission(actor)
        data, meeting_id, participant_id, media_type = cmd.data, cmd.meeting_id, cmd.participant_id, cmd.media_type
        if cmd.source is InputSource.RECORDING:
            if not cmd.recording_id or not cmd.file_key:
                raise InvalidInput("a recording reference needs recording_id and file_key", reason="missing_reference")
            ref = await self.recordings.find(cmd.recording_id, cmd.file_key)
            meeting_id, participant_id, media_type = ref.meeting_id, participant_id or ref.user_id, ref.media_type
            await self._check_meeting(actor, meeting_id)
            # Both contexts' rules: analysing a recorded file must not show more than the recording itself.
            if not await self.recordings.visible_to(actor, ref.recording_id):
                raise AnalysisNotAllowed("the recordings of this meeting are hidden from you",
                                         reason="recording_hidden", recording_id=ref.recording_id)
            data = await self.recordings.read(ref, self.limits.max_upload_bytes)
        elif meeting_id is not None:
            await self._check_meeting(actor, meeting_id)
        prepared = await self._prepare(cmd.kind, cmd.source, data, cmd.texts)
        now = self._now()
        job = AnalysisJob.queue(
            analysis_id=AnalysisId(new_id()), kind=cmd.kind, requested_by=actor.user_id, meeting_id=meeting_id,
            participant_id=participant_id, options=options, now=now,
            source=AnalysisInput(source=cmd.source, media_type=media_type, size=len(data or b""),
                                 duration_s=round(prepared.duration_s, 3) if prepared.audio else None,
                                 filename=cmd.filename, recording_id=cmd.recording_id, file_key=cmd.file_key,
                                 texts=prepared.texts))
        await self.store.put(job)
        if prepared.duration_s <= self.limits.sync_max_duration_s:
            await self._run(job, prepared, raise_errors=True)
            return job
        try:
            self.queue.enqueue(lambda: self._run(job, prepared, raise_errors=False))
        except AnalysisQueueFull as err:
            await self._fail(job, err)
            raise
        return job

    async def get(self, actor: Actor, analysis_id: AnalysisId) -> AnalysisJob:
        job = await self.store.get(analysis_id)
        if not may_read(actor, job, await self._meeting_or_none(job.meeting_id)):
            raise AnalysisNotAllowed("only the requester, administrators and the meeting's members see this result",
                                     reason="not_yours", analysis_id=analysis_id)
        return job

    async def output(self, actor: Actor, analysis_id: AnalysisId) -> tuple[bytes, str, str]:
        """(bytes, media type, file name) of a denoised file or an enhanced frame; NoOutput otherwise."""
        job = await self.get(actor, analysis_id)
        data, media_type = await self.store.get_output(job.id)
        return data, media_type, f"{job.kind.value}-{job.id}.{OUTPUT_EXTENSIONS.get(media_type, 'bin')}"

    async def list_for_meeting(self, actor: Actor, meeting_id: MeetingId, page: PageRequest) -> Page[AnalysisJob]:
        meeting = await self.meetings.get(meeting_id)
        if not may_list_meeting(actor, meeting):
            raise AnalysisNotAllowed("only the meeting's members see its analyses", reason="not_a_member",
                                     meeting_id=meeting_id)
        return await self.store.list_for_meeting(meeting_id, page)

    async def list_mine(self, actor: Actor, page: PageRequest) -> Page[AnalysisJob]:
        return await self.store.list_for_user(UserId(actor.user_id), page)

    async def models(self) -> list[ModelInfo]:
        return await self.catalogue.all()

    async def nodes(self) -> list[NodeHealth]:
        return await self.engine.nodes()

    async def stream_transcription(self, actor: Actor, meeting_id: MeetingId | None,
                                   chunks: AsyncIterator[bytes], *, metered: bool = True) -> AsyncIterator[Caption]:
        """Live transcription of 16 kHz mono PCM (captions): cut into windows at pauses, each window's
        transcript (times from the start of the stream) as soon as it is ready.  A meeting's audio only
        for its members, as for stored analyses; nothing is stored.  A stream a user opens counts as one
        submission; the media server's caption tap (``metered=False``, a trusted service) opens one per
        utterance of a meeting whose host turned captions on, so it is bounded by the fair scheduler's
        capacity instead of the speaker's per-minute allowance (a fast talker would exhaust it)."""
        if meeting_id is not None:
            await self._check_meeting(actor, meeting_id)
        if metered:
            await self._count_submission(actor)
        starts: deque[float] = deque()

        async def audio() -> AsyncIterator[PcmAudio]:
            async for w in windows(chunks):
                starts.append(w.start_s)
                yield w.audio

        async for t in self.engine.transcribe_stream(audio(), timeout=self.limits.inference_timeout_s):
            start = starts.popleft() if starts else 0.0
            yield Caption(start_s=start, transcription=t)

    # -- steps ------------------------------------------------------------------------------------

    def _now(self) -> dt.datetime:
        """Job times to the millisecond, as the stores keep them (BSON dates): a job returned by
        ``submit`` equals the one read back."""
        now = self.clock.now()
        return now.replace(microsecond=now.microsecond // 1000 * 1000)

    async def _count_submission(self, actor: Actor) -> None:
        """Inference is the costliest thing a user can ask for: submissions per user per minute are
        limited (streams count once, when they open)."""
        if self.limiter is None:
            return
        await self.limiter.reserve([AttemptLimit(key=f"analysis:{actor.user_id}",
                                                 limit=self.limits.submissions_per_minute,
                                                 window=dt.timedelta(minutes=1))], self.clock.now())

    async def _check_meeting(self, actor: Actor, meeting_id: MeetingId) -> Meeting:
        meeting = await self.meetings.get(meeting_id)
        check_may_analyse(actor, meeting)
        return meeting

    async def _meeting_or_none(self, meeting_id: MeetingId | None) -> Meeting | None:
        if meeting_id is None:
            return None
        try:
            return await self.meetings.get(meeting_id)
        except MeetingNotFound:
            return None

    async def _prepare(self, kind: Task, source: InputSource, data: bytes | None,
                       texts: tuple[str, ...]) -> PreparedInput:
        if source is InputSource.TEXT:
            if kind not in am.TEXT_KINDS:
                raise InvalidInput(f"{kind.value} analyses audio or images, not text", reason="text_not_accepted")
            texts = tuple(t.strip() for t in texts)
            if not texts or not all(texts):
                raise InvalidInput("send at least one non-empty text", reason="empty")
            self.limits.check_texts(texts)
            return PreparedInput(texts=texts)
        if not data:
            raise InvalidInput("the file is empty", reason="empty")
        self.limits.check_size(len(data))
        if kind in am.IMAGE_KINDS:
            return PreparedInput(frame=await self.decoder.decode_image(data, max_pixels=self.limits.max_frame_pixels))
        rate = 48_000 if kind is Task.DENOISE else 16_000
        audio = await self.decoder.decode_audio(data, sample_rate=rate, max_duration_s=self.limits.max_duration_s)
        if not audio.samples:
            raise InvalidInput("the file holds no audio samples", reason="empty")
        return PreparedInput(audio=audio)

    async def _run(self, job: AnalysisJob, given: PreparedInput, *, raise_errors: bool) -> None:
        job.start(self._now())
        await self.store.put(job)
        answering = Answering(engine=self.engine, catalogue=self.catalogue, decoder=self.decoder,
                              timeout=self.limits.inference_timeout_s)
        try:
            answer = await answering.answer(job.kind, given, job.options)
            if answer.output is not None:
                await self.store.put_output(job.id, *answer.output)
        except DomainError as err:
            await self._fail(job, err)
            if raise_errors:
                raise
            return
        except Exception as exc:
            log.exception("analysis failed unexpectedly", extra={"analysis_id": job.id})
            await self._fail(job, DomainError(f"internal error ({type(exc).__name__})"))
            if raise_errors:
                raise
            return
        job.complete(model=answer.model.name, model_version=answer.model.version, result=answer.result,
                     confidence=answer.confidence, output_media_type=answer.output[1] if answer.output else None,
                     now=self._now())
        await self.store.put(job)
        await self._publish(job)

    async def _fail(self, job: AnalysisJob, err: DomainError) -> None:
        job.fail(code=err.code or "internal", message=err.message, now=self._now())
        try:
            await self.store.put(job)
            await self._publish(job)
        except DomainError:  # the store or outbox is down too: the caller still gets the first error
            log.warning("could not record a failed analysis", extra={"analysis_id": job.id})

    async def _publish(self, job: AnalysisJob) -> None:
        async with self.uow() as uow:
            uow.collect(*job.pull_events())
            await uow.commit()


def _options(kind: Task, given: dict[str, Any]) -> dict[str, Any]:
    if kind is Task.DENOISE:
        method = given.get("method") or am.DENOISE_METHODS[0]
        if method not in am.DENOISE_METHODS:
            raise InvalidInput(f"method must be one of {', '.join(am.DENOISE_METHODS)}", reason="unknown_method")
        return {"method": method}
    if kind is Task.VIDEO_ENHANCE:
        operations = tuple(given.get("operations") or ("low_light", "denoise"))
        unknown = [o for o in operations if o not in am.ENHANCE_OPERATIONS]
        if unknown or len(set(operations)) != len(operations):
            raise InvalidInput(f"operations are distinct names from {', '.join(am.ENHANCE_OPERATIONS)}",
                               reason="unknown_operation")
        return {"operations": list(operations)}
    if kind is Task.TRANSCRIPTION and given.get("prompt"):
        return {"prompt": str(given["prompt"])[:500]}
    return {}

