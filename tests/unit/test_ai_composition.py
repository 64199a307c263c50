"""The analysis part of the composition root: which engine and store a process gets."""

from __future__ import annotations

import sys

import pytest

from domain.analysis.errors import InferenceUnavailable
from runners.ai_composition import analysis_limits, build_engine
from tests.unit.web_support import web_settings


async def test_without_the_model_packages_the_engine_answers_503_and_says_why(monkeypatch):
    monkeypatch.setitem(sys.modules, "runners.inference.wiring", None)  # import fails as if not installed
    engine = await build_engine(web_settings())
    with pytest.raises(InferenceUnavailable) as caught:
        await engine.text_sentiment(["x"], timeout=1)
    assert "confero[ai]" in caught.value.message
    [node] = await engine.nodes()
    assert not node.ready and "not installed" in node.error


async def test_the_default_engine_is_the_in_process_one():
    from adapters.inference.engine import InProcessEngine

    engine = await build_engine(web_settings())
    try:
        assert isinstance(engine, InProcessEngine)
    finally:
        await engine.close()


def test_limits_come_from_the_settings():
    limits = analysis_limits(web_settings(APP_AI_SYNC_MAX_SECONDS="5", APP_AI_MAX_UPLOAD_BYTES="2048"))
    assert (limits.sync_max_duration_s, limits.max_upload_bytes) == (5.0, 2048)
