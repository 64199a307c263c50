"""The in-process inference engine (the all-in-one's, no server) against the InferenceEngine contract."""

from __future__ import annotations

import pytest_asyncio

from adapters.inference.engine import InProcessEngine
from adapters.inference.models import ModelSet
from confero_contracts import InferenceEngineContract
from domain.analysis.errors import InferenceUnavailable

# One model set for the module: each test gets a fresh engine (pool) but loads no weight twice.
_MODELS = ModelSet()


class TestInProcessEngine(InferenceEngineContract):
    @pytest_asyncio.fixture
    async def engine(self):
        engine = InProcessEngine(_MODELS)
        yield engine
        await engine.close()


async def test_a_closed_engine_is_unavailable():
    engine = InProcessEngine(_MODELS)
    await engine.close()
    try:
        await engine.text_sentiment(["fine"], timeout=5)
    except InferenceUnavailable:
        pass
    else:
        raise AssertionError("a closed engine answered")
    assert not (await engine.nodes())[0].ready
