"""A small deterministic InferenceEngine for tests of the analysis service, HTTP and gRPC runners.

It answers from the input's size and words (no model): one segment per started second of audio saying
``word<N>``, sentiment and emotion from a few keywords.  ``ready = False`` makes every call raise
InferenceUnavailable, as an engine with no ready node does; ``calls`` counts calls per method."""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import AsyncIterator, Sequence

from domain.analysis.errors import InferenceUnavailable, InvalidInput
from domain.analysis.inference import (
    LabelScore,
    ModelInfo,
    NodeHealth,
    PcmAudio,
    Segment,
    Task,
    Transcription,
    VideoFrame,
)

EMOTIONS = ("joy", "anger", "sadness", "fear", "surprise", "neutral")
KEYWORDS = {"glad": "joy", "happy": "joy", "angry": "anger", "sad": "sadness", "afraid": "fear", "wow": "surprise"}


class FakeInferenceEngine:
    def __init__(self) -> None:
        self.ready = True
        self.calls: Counter[str] = Counter()
        self.gate: asyncio.Event | None = None  # when set by a test, calls wait for it

    async def _enter(self, name: str) -> None:
        self.calls[name] += 1
        if self.gate is not None:
            await self.gate.wait()
        if not self.ready:
            raise InferenceUnavailable("no inference node is ready", model=name)

    async def transcribe(self, audio: PcmAudio, *, prompt: str = "", timeout: float) -> Transcription:
        await self._enter("transcribe")
        if audio.sample_rate != 16_000:
            raise InvalidInput("16 kHz only", reason="wrong_rate")
        seconds = math.ceil(audio.duration_s)
        return Transcription(language="en", segments=tuple(
            Segment(start_s=float(i), end_s=float(min(i + 1, audio.duration_s)), text=f" word{i}", confidence=0.9)
            for i in range(seconds)))

    async def text_sentiment(self, texts: Sequence[str], *, timeout: float) -> list[LabelScore]:
        await self._enter("text_sentiment")
        out = []
        for t in texts:
            emotion = _emotion(t)
            label = "positive" if emotion == "joy" else "neutral" if emotion == "neutral" else "negative"
            out.append(LabelScore(label=label, score=0.8))
        return out

    async def text_emotion(self, texts: Sequence[str], *, timeout: float) -> list[tuple[LabelScore, ...]]:
        await self._enter("text_emotion")
        return [tuple(LabelScore(label=e, score=0.7 if e == _emotion(t) else 0.06)
                      for e in sorted(EMOTIONS, key=lambda e: e != _emotion(t))) for t in texts]

    async def vocal_arousal(self, audio: PcmAudio, *, baseline: PcmAudio | None = None,
                            timeout: float) -> dict[str, float]:
        await self._enter("vocal_arousal")
        return {"pitch_z": 0.0, "loudness_z": 0.5, "rate_z": -0.25}

    async def synthetic_speech_risk(self, audio: PcmAudio, *, timeout: float) -> float:
        await self._enter("synthetic_speech_risk")
        return 0.3

    async def denoise(self, audio: PcmAudio, *, method: str, timeout: float) -> PcmAudio:
        await self._enter("denoise")
        if audio.sample_rate != 48_000:
            raise InvalidInput("48 kHz only", reason="wrong_rate")
        return PcmAudio(samples=bytes(len(audio.samples)), sample_rate=48_000)  # silence: all noise removed

    async def enhance_frame(self, frame: VideoFrame, *, operations: Sequence[str], timeout: float) -> VideoFrame:
        await self._enter("enhance_frame")
        if "upscale2x" in operations:
            return VideoFrame(width=frame.width * 2, height=frame.height * 2, rgb=bytes(len(frame.rgb) * 4))
        return frame

    async def transcribe_stream(self, windows: AsyncIterator[PcmAudio], *,
                                timeout: float) -> AsyncIterator[Transcription]:
        await self._enter("transcribe_stream")
        async for w in windows:
            yield await self.transcribe(w, timeout=timeout)

    async def models(self) -> list[ModelInfo]:
        if not self.ready:
            raise InferenceUnavailable("no inference node is ready")
        return [ModelInfo(name=f"fake-{t.value}", version="1", task=t, description=f"fake {t.value}") for t in Task]

    async def nodes(self) -> list[NodeHealth]:
        return [NodeHealth(endpoint="in-process (fake)", ready=self.ready,
                           models_ready=tuple(f"fake-{t.value}" for t in Task) if self.ready else (),
                           error=None if self.ready else "stopped by the test")]

    async def close(self) -> None:
        pass


def _emotion(text: str) -> str:
    for word, emotion in KEYWORDS.items():
        if word in text.lower():
            return emotion
    return "neutral"
