"""The in-process inference engine: the model code on a thread pool, no server needed (all-in-one)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TypeVar

from adapters.inference.catalogue import CATALOGUE
from adapters.inference.fair import FairScheduler
from adapters.inference.models import ModelSet
from adapters.inference.streaming import transcribe_windows
from domain.analysis.errors import InferenceUnavailable
from domain.analysis.inference import LabelScore, ModelInfo, NodeHealth, PcmAudio, Transcription, VideoFrame

T = TypeVar("T")
ENDPOINT = "in-process"


class InProcessEngine:
    """Implements ports.inference.InferenceEngine.

    A call whose deadline passes raises InferenceUnavailable at once; its thread finishes the work in
    the background (CPU work cannot be interrupted); calls still queued when their deadline passes are
    dropped.  Speech recognition is serialised inside the model (it uses both cores per call), so more
    workers than cores keep light calls (text, frames) from waiting behind a transcription.
    """

    def __init__(self, models: ModelSet | None = None, *, workers: int = 4, stream_slots: int = 1) -> None:
        self._models = models or ModelSet()
        self._streams = FairScheduler(stream_slots)  # one: the model runs one transcription at a time anyway
        self._pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="inference")
        self._closed = False

    async def _run(self, fn: Callable[..., T], *args: object, timeout: float) -> T:
        if self._closed:
            raise InferenceUnavailable("the inference engine is closed")
        if timeout <= 0:
            raise InferenceUnavailable("the deadline passed before the call started", reason="deadline")
        deadline = time.monotonic() + timeout

        def job() -> T:
            # A call that waited in the queue past its deadline is dropped instead of computed for nobody.
            if time.monotonic() > deadline:
                raise InferenceUnavailable("the deadline passed while the call was queued", reason="deadline")
            return fn(*args)

        future = asyncio.get_running_loop().run_in_executor(self._pool, job)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise InferenceUnavailable(f"inference did not finish within {timeout:.1f} s", reason="deadline") from None

    async def transcribe(self, audio: PcmAudio, *, prompt: str = "", timeout: float) -> Transcription:
        return await self._run(self._models.transcribe, audio, prompt, timeout=timeout)

    async def text_sentiment(self, texts: Sequence[str], *, timeout: float) -> list[LabelScore]:
        return await self._run(self._models.text_sentiment, texts, timeout=timeout)

    async def text_emotion(self, texts: Sequence[str], *, timeout: float) -> list[tuple[LabelScore, ...]]:
        return await self._run(self._models.text_emotion, texts, timeout=timeout)

    async def vocal_arousal(self, audio: PcmAudio, *, baseline: PcmAudio | None = None,
                            timeout: float) -> dict[str, float]:
        return await self._run(self._models.vocal_arousal, audio, baseline, timeout=timeout)

    async def synthetic_speech_risk(self, audio: PcmAudio, *, timeout: float) -> float:
        return self._models.synthetic_speech_risk(audio)

    async def denoise(self, audio: PcmAudio, *, method: str, timeout: float) -> PcmAudio:
        return await self._run(self._models.denoise, audio, method, timeout=timeout)

    async def enhance_frame(self, frame: VideoFrame, *, operations: Sequence[str], timeout: float) -> VideoFrame:
        return await self._run(self._models.enhance_frame, frame, tuple(operations), timeout=timeout)

    def transcribe_stream(self, windows: AsyncIterator[PcmAudio], *, timeout: float) -> AsyncIterator[Transcription]:
        return transcribe_windows(self.transcribe, windows, timeout=timeout, scheduler=self._streams)

    async def models(self) -> list[ModelInfo]:
        return list(CATALOGUE)

    async def nodes(self) -> list[NodeHealth]:
        ready = not self._closed
        return [NodeHealth(endpoint=ENDPOINT, ready=ready,
                           models_ready=tuple(m.name for m in CATALOGUE) if ready else (), error=None)]

    async def close(self) -> None:
        self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)
