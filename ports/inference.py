"""The inference engine: the models behind analysis, on Triton nodes or in process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from domain.analysis.inference import (
    LabelScore,
    ModelInfo,
    NodeHealth,
    PcmAudio,
    Transcription,
    VideoFrame,
)


class InferenceEngine(Protocol):
    """Per-model calls, each with a deadline in seconds.

    Every call raises InferenceUnavailable (UNAVAILABLE) when no node that serves the model is ready or
    the deadline passed, and InvalidInput (INVALID_ARGUMENT) for input the model cannot take (wrong
    sample rate, empty audio, frame size not matching its bytes; ``details["reason"]`` says which:
    ``wrong_rate``, ``empty``, ``not_audio``, ``too_long``, ``too_large``, ``size_mismatch``,
    ``unknown_method``, ``unknown_operation``, ``not_text``, ``too_many``).  Calls are safe to run concurrently;
    an adapter may batch concurrent calls to one model.

    - ``transcribe``: 16 kHz speech -> segments with times relative to the clip (``prompt``: text said
      just before, for continuity across windows).
    - ``text_sentiment``: one polarity (``positive`` / ``neutral`` / ``negative``) score per text.
    - ``text_emotion``: per text, scores over joy, anger, sadness, fear, surprise, neutral (sorted, best
      first), tagged from the words alone.
    - ``vocal_arousal``: pitch, loudness and rate indicators of a clip relative to ``baseline`` (an
      earlier clip of the same speaker) or to the clip itself.
    - ``synthetic_speech_risk``: an experimental score in [0, 1] with no claim of detection, or
      FeatureNotOffered (FAILED_PRECONDITION) when the engine offers none.  Both engines here refuse:
      the only baseline measured flagged up to 44 % of human clips from unseen sources (README).
    - ``denoise``: 48 kHz audio in and out, same length; ``method`` is ``deepfilternet`` or ``rnnoise``.
    - ``enhance_frame``: ``operations`` from ``low_light``, ``denoise``, ``upscale2x``, ``sharpen``.
    - ``transcribe_stream``: windows of speech in, transcriptions out as each window ends (live
      captions); closing the input ends the output.
    - ``models`` / ``nodes``: the catalogue and each node's health as last checked.
    """

    async def transcribe(self, audio: PcmAudio, *, prompt: str = "", timeout: float) -> Transcription: ...
    async def text_sentiment(self, texts: Sequence[str], *, timeout: float) -> list[LabelScore]: ...
    async def text_emotion(self, texts: Sequence[str], *, timeout: float) -> list[tuple[LabelScore, ...]]: ...
    async def vocal_arousal(self, audio: PcmAudio, *, baseline: PcmAudio | None = None,
                            timeout: float) -> dict[str, float]: ...
    async def synthetic_speech_risk(self, audio: PcmAudio, *, timeout: float) -> float: ...
    async def denoise(self, audio: PcmAudio, *, method: str, timeout: float) -> PcmAudio: ...
    async def enhance_frame(self, frame: VideoFrame, *, operations: Sequence[str], timeout: float) -> VideoFrame: ...
    def transcribe_stream(self, windows: AsyncIterator[PcmAudio], *, timeout: float) -> AsyncIterator[Transcription]: ...
    async def models(self) -> list[ModelInfo]: ...
    async def nodes(self) -> list[NodeHealth]: ...
    async def close(self) -> None: ...
