"""The inference engine a process uses: Triton nodes when ``APP_TRITON_URLS`` names some, else the
in-process engine (the all-in-one's: no server, models loaded on first use)."""

from __future__ import annotations

from adapters.inference.engine import InProcessEngine
from adapters.triton.engine import TritonEngine
from ports.inference import InferenceEngine
from runners.settings import Settings


async def open_engine(settings: Settings) -> InferenceEngine:
    """Close the result with ``await engine.close()``."""
    if settings.triton_urls:
        return await TritonEngine(settings.triton_urls, health_interval=settings.triton_health_interval).start()
    return InProcessEngine()
