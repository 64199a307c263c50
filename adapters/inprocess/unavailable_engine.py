"""The engine of a process that cannot run one (the analysis models are not installed): every call is a
clear InferenceUnavailable (503), and the node list says why, so the rest of the process still serves."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, NoReturn

from domain.analysis.errors import InferenceUnavailable
from domain.analysis.inference import ModelInfo, NodeHealth


class UnavailableEngine:
    def __init__(self, reason: str) -> None:
        self.reason = reason

    def _refuse(self) -> NoReturn:
        raise InferenceUnavailable(self.reason, reason="not_installed")

    async def transcribe(self, *a: Any, **kw: Any) -> NoReturn: self._refuse()
    async def text_sentiment(self, texts: Sequence[str], **kw: Any) -> NoReturn: self._refuse()
    async def text_emotion(self, texts: Sequence[str], **kw: Any) -> NoReturn: self._refuse()
    async def vocal_arousal(self, *a: Any, **kw: Any) -> NoReturn: self._refuse()
    async def synthetic_speech_risk(self, *a: Any, **kw: Any) -> NoReturn: self._refuse()
    async def denoise(self, *a: Any, **kw: Any) -> NoReturn: self._refuse()
    async def enhance_frame(self, *a: Any, **kw: Any) -> NoReturn: self._refuse()

    async def transcribe_stream(self, windows: AsyncIterator[Any], **kw: Any) -> AsyncIterator[Any]:
        self._refuse()
        yield  # pragma: no cover  (makes this an async generator, as the port's method is)

    async def models(self) -> list[ModelInfo]:
        return []

    async def nodes(self) -> list[NodeHealth]:
        return [NodeHealth(endpoint="none", ready=False, models_ready=(), error=self.reason)]

    async def close(self) -> None:
        pass
