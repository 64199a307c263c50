"""The analysis job: what was asked (kind, input, meeting), by whom, which model answered, and how it went."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from attrs import define, evolve, field, frozen

from domain.analysis import events as ev
from domain.analysis.inference import Task
from domain.shared.errors import DomainError
from domain.shared.events import DomainEvent
from domain.shared.ids import AnalysisId, MeetingId, RecordingId, UserId

# The kinds are the inference engine's tasks; their names are the honest ones (see LABELS).
AnalysisKind = Task

LABELS: dict[Task, str] = {
    Task.TRANSCRIPTION: "speech transcription",
    Task.TEXT_SENTIMENT: "text sentiment",
    Task.TEXT_EMOTION: "transcript-based emotion tagging",
    Task.VOCAL_AROUSAL: "vocal arousal indicators (relative to the speaker's own baseline)",
    Task.SYNTHETIC_SPEECH_RISK: "experimental synthetic-speech risk score",
    Task.DENOISE: "audio denoising",
    Task.VIDEO_ENHANCE: "video frame enhancement",
}

NOTES: dict[Task, str] = {
    Task.TEXT_EMOTION: "Emotion words tagged from the text (or the transcript) alone; nothing is read from the "
                       "voice.",
    Task.VOCAL_AROUSAL: "Pitch, loudness and speaking rate relative to the speaker's own baseline; these are not "
                        "emotions.",
    Task.SYNTHETIC_SPEECH_RISK: "Experimental. Not a detector: on sources it has not seen it flags up to 44 % of "
                                "human speech as synthetic. Never use it to decide anything about a person.",
}

# Measured on synthetic and public speech here (../shared/AI.md); they travel with every risk answer.
SYNTHETIC_RISK_ERROR_RATES: dict[str, float] = {
    "auc_seen_generators": 0.99,
    "auc_unseen_generators_min": 0.79,
    "auc_unseen_generators_max": 0.88,
    "human_flagged_as_synthetic_unseen_sources": 0.44,
    "human_flagged_as_synthetic_telephone_band": 0.47,
}

AUDIO_KINDS = frozenset({Task.TRANSCRIPTION, Task.TEXT_EMOTION, Task.VOCAL_AROUSAL, Task.SYNTHETIC_SPEECH_RISK,
                         Task.DENOISE})
TEXT_KINDS = frozenset({Task.TEXT_SENTIMENT, Task.TEXT_EMOTION})
IMAGE_KINDS = frozenset({Task.VIDEO_ENHANCE})
DENOISE_METHODS = ("deepfilternet", "rnnoise")
ENHANCE_OPERATIONS = ("low_light", "denoise", "upscale2x", "sharpen")


class AnalysisStatus(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (AnalysisStatus.COMPLETED, AnalysisStatus.FAILED)


class InputSource(enum.Enum):
    UPLOAD = "upload"
    RECORDING = "recording"
    TEXT = "text"


@frozen(kw_only=True)
class AnalysisInput:
    """Where the input came from and how big it was (the bytes themselves are not kept with the job)."""

    source: InputSource
    media_type: str = ""
    size: int = 0
    duration_s: float | None = None
    filename: str | None = None
    blob_key: str | None = None
    recording_id: RecordingId | None = None
    file_key: str | None = None
    texts: tuple[str, ...] = ()


class AnalysisStateError(DomainError):
    """A job asked to move backwards (a completed job started again): a bug of the caller."""


@define(kw_only=True)
class AnalysisJob:
    """One analysis.

    Invariants: status moves queued -> running -> completed | failed (or queued -> failed); a completed
    job has a model, a result and ``finished_at``; a failed one has ``error`` and ``finished_at``;
    ``started_at`` <= ``finished_at``.  ``participant_id`` names whose media it is, when known.
    """

    id: AnalysisId
    kind: Task
    input: AnalysisInput
    requested_by: UserId
    meeting_id: MeetingId | None = None
    participant_id: UserId | None = None
    options: dict[str, Any] = field(factory=dict)
    status: AnalysisStatus = AnalysisStatus.QUEUED
    model: str | None = None
    model_version: str | None = None
    created_at: dt.datetime
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    confidence: float | None = None
    result: dict[str, Any] | None = None
    error: dict[str, str] | None = None
    output_media_type: str | None = None
    _events: list[DomainEvent] = field(factory=list, eq=False, repr=False, alias="_events")

    @classmethod
    def queue(cls, *, analysis_id: AnalysisId, kind: Task, source: AnalysisInput, requested_by: UserId,
              meeting_id: MeetingId | None, participant_id: UserId | None, options: dict[str, Any],
              now: dt.datetime) -> AnalysisJob:
        return cls(id=analysis_id, kind=kind, input=source, requested_by=requested_by, meeting_id=meeting_id,
                   participant_id=participant_id, options=dict(options), created_at=now)

    @property
    def label(self) -> str:
        return LABELS[self.kind]

    @property
    def queued_s(self) -> float | None:
        return (self.started_at - self.created_at).total_seconds() if self.started_at else None

    @property
    def run_s(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    def start(self, now: dt.datetime) -> None:
        if self.status is not AnalysisStatus.QUEUED:
            raise AnalysisStateError(f"cannot start a {self.status.value} analysis", analysis_id=self.id)
        self.status, self.started_at = AnalysisStatus.RUNNING, now

    def complete(self, *, model: str, model_version: str, result: dict[str, Any], confidence: float | None,
                 output_media_type: str | None, now: dt.datetime) -> None:
        if self.status is not AnalysisStatus.RUNNING:
            raise AnalysisStateError(f"cannot complete a {self.status.value} analysis", analysis_id=self.id)
        self.status, self.finished_at = AnalysisStatus.COMPLETED, now
        self.model, self.model_version, self.result = model, model_version, result
        self.confidence, self.output_media_type = confidence, output_media_type
        self._events.append(ev.AnalysisCompleted(
            occurred_at=now, analysis_id=self.id, kind=self.kind.value, requested_by=self.requested_by,
            meeting_id=self.meeting_id, model=model, model_version=model_version, confidence=confidence))

    def fail(self, *, code: str, message: str, now: dt.datetime) -> None:
        if self.status.finished:
            raise AnalysisStateError(f"cannot fail a {self.status.value} analysis", analysis_id=self.id)
        self.status, self.finished_at = AnalysisStatus.FAILED, now
        self.started_at = self.started_at or now
        self.error = {"code": code, "message": message}
        self._events.append(ev.AnalysisFailed(
            occurred_at=now, analysis_id=self.id, kind=self.kind.value, requested_by=self.requested_by,
            meeting_id=self.meeting_id, error_code=code))

    def pull_events(self) -> list[DomainEvent]:
        out, self._events = self._events, []
        return out

    def copy(self) -> AnalysisJob:
        return evolve(self, options=dict(self.options), result=None if self.result is None else dict(self.result),
                      error=None if self.error is None else dict(self.error), _events=[])
