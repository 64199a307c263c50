"""The model catalogue, read from the engine's own list and kept until refreshed."""

from __future__ import annotations

import asyncio

from domain.analysis.errors import FeatureNotOffered, InferenceUnavailable
from domain.analysis.inference import ModelInfo, Task
from ports.inference import InferenceEngine


class EngineModelCatalogue:
    def __init__(self, engine: InferenceEngine) -> None:
        self._engine = engine
        self._models: list[ModelInfo] | None = None
        self._lock = asyncio.Lock()

    async def all(self) -> list[ModelInfo]:
        if self._models is None:
            async with self._lock:
                if self._models is None:
                    # An engine with no ready node answers with an empty list or Unavailable: not cached.
                    models = await self._engine.models()
                    if models:
                        self._models = models
                    return list(models)
        return list(self._models)

    async def for_task(self, task: Task) -> ModelInfo:
        models = await self.all()
        for m in models:
            if m.task is task:
                return m
        if models:  # the engine answers and has no such model: a refusal (synthetic speech), not an outage
            raise FeatureNotOffered(f"{task.value} is not offered by this service", reason="no_model",
                                    task=task.value)
        raise InferenceUnavailable(f"no inference node is ready to serve {task.value}", task=task.value)

    async def refresh(self) -> None:
        async with self._lock:
            self._models = None
