"""Inputs and outputs of the inference engine (ports/inference.py), as the analysis domain sees them.

Audio is 16-bit little-endian mono PCM with its rate; video frames are packed RGB24.  These are plain
bytes so that the domain holds no numeric library; adapters convert at their edge.
"""

from __future__ import annotations

import enum

from attrs import frozen


class Task(enum.Enum):
    TRANSCRIPTION = "transcription"
    TEXT_SENTIMENT = "text_sentiment"
    TEXT_EMOTION = "text_emotion"                    # transcript-based emotion tagging, not voice emotion
    VOCAL_AROUSAL = "vocal_arousal"                  # prosody relative to the speaker's own baseline
    SYNTHETIC_SPEECH_RISK = "synthetic_speech_risk"  # experimental; error rates travel with every answer
    DENOISE = "denoise"
    VIDEO_ENHANCE = "video_enhance"


@frozen(kw_only=True)
class PcmAudio:
    samples: bytes
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / 2 / self.sample_rate if self.sample_rate else 0.0


@frozen(kw_only=True)
class VideoFrame:
    width: int
    height: int
    rgb: bytes


@frozen(kw_only=True)
class Segment:
    start_s: float
    end_s: float
    text: str
    confidence: float


@frozen(kw_only=True)
class Transcription:
    language: str
    segments: tuple[Segment, ...]

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())


@frozen(kw_only=True)
class LabelScore:
    label: str
    score: float


@frozen(kw_only=True)
class ModelInfo:
    name: str
    version: str
    task: Task
    description: str


@frozen(kw_only=True)
class NodeHealth:
    """One inference node (a Triton endpoint, or the in-process engine): ``ready`` as last checked."""

    endpoint: str
    ready: bool
    models_ready: tuple[str, ...]
    error: str | None
