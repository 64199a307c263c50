"""One analysis through the engine: the call each kind makes and the JSON-safe result it stores.

Every result carries its honest ``label`` (and a ``note`` where the name alone could mislead); the
synthetic-speech score carries its measured error rates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from attrs import frozen

from domain.analysis.errors import InvalidInput
from domain.analysis.inference import LabelScore, ModelInfo, Task, Transcription
from domain.analysis.model import LABELS, NOTES, SYNTHETIC_RISK_ERROR_RATES
from domain.analysis.prepared import PreparedInput
from ports.analysis import MediaDecoder, ModelCatalogue
from ports.inference import InferenceEngine


@frozen(kw_only=True)
class Answer:
    model: ModelInfo
    result: dict[str, Any]
    confidence: float | None
    output: tuple[bytes, str] | None = None


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def segments_json(t: Transcription) -> list[dict[str, Any]]:
    return [{"start_s": round(s.start_s, 3), "end_s": round(s.end_s, 3), "text": s.text.strip(),
             "confidence": round(s.confidence, 4)} for s in t.segments if s.text.strip()]


def scores_json(scores: Sequence[LabelScore]) -> list[dict[str, Any]]:
    return [{"label": s.label, "score": round(s.score, 4)} for s in scores]


@frozen(kw_only=True)
class Answering:
    engine: InferenceEngine
    catalogue: ModelCatalogue
    decoder: MediaDecoder
    timeout: float

    async def answer(self, kind: Task, given: PreparedInput, options: dict[str, Any]) -> Answer:
        model = await self.catalogue.for_task(kind)
        answer = await getattr(self, f"_{kind.value}")(model, given, options)
        answer.result.setdefault("label", LABELS[kind])
        if kind in NOTES:
            answer.result.setdefault("note", NOTES[kind])
        return answer

    async def _units(self, given: PreparedInput) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The texts to score: the given texts, or the transcript's segments (a timeline)."""
        if given.audio is None:
            return [{"text": t} for t in given.texts], {}
        asr = await self.catalogue.for_task(Task.TRANSCRIPTION)
        t = await self.engine.transcribe(given.audio, timeout=self.timeout)
        segments = segments_json(t)
        if not segments:
            raise InvalidInput("no speech was found in the audio", reason="no_speech")
        return segments, {"transcription_model": f"{asr.name}:{asr.version}", "language": t.language}

    async def _transcription(self, model: ModelInfo, given: PreparedInput, options: dict[str, Any]) -> Answer:
        assert given.audio is not None
        t = await self.engine.transcribe(given.audio, prompt=str(options.get("prompt", "")), timeout=self.timeout)
        segments = segments_json(t)
        return Answer(model=model, confidence=_mean([s["confidence"] for s in segments]),
                      result={"language": t.language, "text": t.text, "segments": segments})

    async def _text_sentiment(self, model: ModelInfo, given: PreparedInput, options: dict[str, Any]) -> Answer:
        units, extra = await self._units(given)
        scores = await self.engine.text_sentiment([u["text"] for u in units], timeout=self.timeout)
        items = [u | {"label": s.label, "score": round(s.score, 4)} for u, s in zip(units, scores, strict=True)]
        return Answer(model=model, confidence=_mean([s.score for s in scores]), result={"items": items, **extra})

    async def _text_emotion(self, model: ModelInfo, given: PreparedInput, options: dict[str, Any]) -> Answer:
        units, extra = await self._units(given)
        tags = await self.engine.text_emotion([u["text"] for u in units], timeout=self.timeout)
        items = [u | {"emotions": scores_json(t)} for u, t in zip(units, tags, strict=True)]
        return Answer(model=model, confidence=_mean([t[0].score for t in tags if t]),
                      result={"items": items, **extra})

    async def _vocal_arousal(self, model: ModelInfo, given: PreparedInput, options: dict[str, Any]) -> Answer:
        assert given.audio is not None
        indicators = await self.engine.vocal_arousal(given.audio, timeout=self.timeout)
        return Answer(model=model, confidence=None,
                      result={"indicators": {k: round(float(v), 4) for k, v in indicators.items()},
                              "relative_to": "the clip itself"})

    async def _synthetic_speech_risk(self, model: ModelInfo, given: PreparedInput,
                                     options: dict[str, Any]) -> Answer:
        assert given.audio is not None
        score = await self.engine.synthetic_speech_risk(given.audio, timeout=self.timeout)
        return Answer(model=model, confidence=None,
                      result={"risk_score": round(float(score), 4), "experimental": True,
                              "error_rates": dict(SYNTHETIC_RISK_ERROR_RATES)})

    async def _denoise(self, model: ModelInfo, given: PreparedInput, options: dict[str, Any]) -> Answer:
        assert given.audio is not None
        method = options["method"]
        out = await self.engine.denoise(given.audio, method=method, timeout=self.timeout)
        return Answer(model=model, confidence=None, output=await self.decoder.audio_file(out),
                      result={"method": method, "sample_rate": out.sample_rate,
                              "duration_s": round(out.duration_s, 3)})

    async def _video_enhance(self, model: ModelInfo, given: PreparedInput, options: dict[str, Any]) -> Answer:
        assert given.frame is not None
        operations = list(options["operations"])
        out = await self.engine.enhance_frame(given.frame, operations=operations, timeout=self.timeout)
        return Answer(model=model, confidence=None, output=await self.decoder.image_file(out),
                      result={"operations": operations, "width": out.width, "height": out.height})
