"""The engine of a process that has none configured: every call is a clear InferenceUnavailable (503)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, NoReturn

from domain.analysis.errors import InferenceUnavailable
from domain.analysis.inference import ModelInfo, NodeHealth

REASON = "no inference engine is configured in this process"


def _refuse(*_: Any, **__: Any) -> NoReturn:
    raise InferenceUnavailable(REASON)


class NoInferenceEngine:
    async def transcribe(self, *a: Any, **kw: Any) -> NoReturn: _refuse()
    async def text_sentiment(self, texts: Sequence[str], **kw: Any) -> NoReturn: _refuse()
    async def text_emotion(self, texts: Sequence[str], **kw: Any) -> NoReturn: _refuse()
    async def vocal_arousal(self, *a: Any, **kw: Any) -> NoReturn: _refuse()
    async def synthetic_speech_risk(self, *a: Any, **kw: Any) -> NoReturn: _refuse()
    async def denoise(self, *a: Any, **kw: Any) -> NoReturn: _refuse()
    async def enhance_frame(self, *a: Any, **kw: Any) -> NoReturn: _refuse()

    async def transcribe_stream(self, windows: AsyncIterator[Any], **kw: Any) -> AsyncIterator[Any]:
        _refuse()
        yield  # pragma: no cover  (an async generator)

    async def models(self) -> list[ModelInfo]:
        return []

    async def nodes(self) -> list[NodeHealth]:
        return [NodeHealth(endpoint="none", ready=False, models_ready=(), error=REASON)]

    async def close(self) -> None:
        pass
