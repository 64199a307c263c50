"""A RecordingProcessor decorator that counts the processing jobs running and times each (by outcome)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence

from adapters.metrics.instruments import RECORDING_PROCESSING, RECORDING_PROCESSING_DURATION
from domain.recordings.media import RecordedFile
from ports.recording_media import RecordingProcessor


class MeasuredProcessor:
    """RecordingProcessor: delegates ``compose``; ``confero_recording_processing_jobs`` is up while it runs,
    ``confero_recording_processing_duration_seconds{outcome="ok"|"error"}`` records how long it took."""

    def __init__(self, inner: RecordingProcessor) -> None:
        self.inner = inner

    async def compose(self, files: Sequence[RecordedFile], out_key: str,
                      progress: Callable[[float], Awaitable[None]]) -> RecordedFile:
        started = time.perf_counter()
        outcome = "error"
        RECORDING_PROCESSING.inc()
        try:
            result = await self.inner.compose(files, out_key, progress)
            outcome = "ok"
            return result
        finally:
            RECORDING_PROCESSING.dec()
            RECORDING_PROCESSING_DURATION.labels(outcome).observe(time.perf_counter() - started)
