"""Ports of the analysis service: where results live, which models exist, how media is decoded, where
recorded files are found, and who runs long jobs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from attrs import frozen

import datetime as dt

from domain.analysis.inference import ModelInfo, PcmAudio, Task, VideoFrame
from domain.analysis.model import AnalysisJob
from domain.shared.actor import Actor
from domain.shared.ids import AnalysisId, MeetingId, RecordingId, UserId
from domain.shared.pagination import Page, PageRequest


class AnalysisStore(Protocol):
    """Analysis jobs by id, and their downloadable outputs (a denoised file, an enhanced frame).

    - ``put`` stores the job as given, replacing what the id held: writing the same job twice leaves one
      job (idempotent), and a later state replaces an earlier one.  It returns nothing and keeps a copy.
    - ``get`` raises AnalysisNotFound.
    - ``list_for_meeting`` / ``list_for_user`` (the requester) page newest first (``created_at``, then id,
      descending); ``total`` counts every match.
    - ``put_output`` stores bytes for a job id (replacing); ``get_output`` returns ``(bytes, media_type)``
      and raises NoOutput when none was stored.
    Every method may raise Unavailable.
    """

    async def put(self, job: AnalysisJob) -> None: ...
    async def get(self, analysis_id: AnalysisId) -> AnalysisJob: ...
    async def list_for_meeting(self, meeting_id: MeetingId, page: PageRequest) -> Page[AnalysisJob]: ...
    async def list_for_user(self, user_id: UserId, page: PageRequest) -> Page[AnalysisJob]: ...
    async def put_output(self, analysis_id: AnalysisId, data: bytes, media_type: str) -> None: ...
    async def get_output(self, analysis_id: AnalysisId) -> tuple[bytes, str]: ...


class ModelCatalogue(Protocol):
    """The models the engine serves, with their versions.  ``for_task`` returns the model that answers
    a task; it raises FeatureNotOffered when the engine answers but offers no model for the task, and
    InferenceUnavailable when the engine lists no model at all (no node ready); ``refresh`` asks the
    engine again."""

    async def all(self) -> list[ModelInfo]: ...
    async def for_task(self, task: Task) -> ModelInfo: ...
    async def refresh(self) -> None: ...


class MediaDecoder(Protocol):
    """Uploaded bytes into what the engine takes, and outputs back into files.

    ``decode_audio`` accepts any container and codec with an audio stream and returns mono 16-bit PCM at
    ``sample_rate``; it raises InvalidInput with ``reason`` ``empty`` (no bytes or no samples),
    ``not_audio`` (no audio stream), ``corrupt`` (undecodable), ``unsupported_rate`` (a source rate
    outside 8-192 kHz) or InputTooLarge ``too_long`` (more than ``max_duration_s``, found while
    decoding, without decoding the rest).  ``decode_image`` returns an RGB frame (InvalidInput
    ``not_image`` / ``corrupt`` / ``empty``; InputTooLarge ``too_many_pixels``).  ``audio_file`` and
    ``image_file`` return (bytes, media type) of a WAV and a PNG.  CPU-bound work runs off the loop.
    """

    async def decode_audio(self, data: bytes, *, sample_rate: int, max_duration_s: float) -> PcmAudio: ...
    async def decode_image(self, data: bytes, *, max_pixels: int) -> VideoFrame: ...
    async def audio_file(self, audio: PcmAudio) -> tuple[bytes, str]: ...
    async def image_file(self, frame: VideoFrame) -> tuple[bytes, str]: ...


@frozen(kw_only=True)
class RecordingFileRef:
    recording_id: RecordingId
    meeting_id: MeetingId
    key: str
    user_id: UserId | None
    media_type: str
    size: int | None = None
    started_at: dt.datetime | None = None  # wall clock of the file's first media: lines speakers up
    has_audio: bool = True


class RecordingFiles(Protocol):
    """The recordings' files, as analysis reads them (the recordings context owns them).

    ``find`` takes a file's full key or its name (the key's last segment, as the recordings API shows
    it); it raises RecordingFileNotFound when the recording does not exist or has no such file;
    ``read`` returns the file's bytes (BlobNotFound if it vanished; InputTooLarge ``too_large`` above
    ``max_bytes``, found before reading).  ``participant_files`` lists a recording's per-participant
    files (``user_id`` set), in the recording's order (RecordingFileNotFound for an unknown recording).
    ``visible_to`` says whether the recordings context shows the recording to ``actor`` (its own rule:
    domain/recordings/access.py); False for an unknown recording.  All may raise Unavailable."""

    async def find(self, recording_id: RecordingId, key: str) -> RecordingFileRef: ...
    async def read(self, ref: RecordingFileRef, max_bytes: int) -> bytes: ...
    async def participant_files(self, recording_id: RecordingId) -> list[RecordingFileRef]: ...
    async def visible_to(self, actor: Actor, recording_id: RecordingId) -> bool: ...


class AnalysisQueue(Protocol):
    """Runs long analyses in the background with bounded concurrency.  ``enqueue`` returns at once and
    raises AnalysisQueueFull (RESOURCE_EXHAUSTED) when the backlog is at its bound; the work itself
    records its own outcome (it never raises into the queue)."""

    def enqueue(self, work: Callable[[], Awaitable[None]]) -> None: ...
