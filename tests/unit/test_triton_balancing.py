"""The Triton adapter's node choice, fail-over and recovery, on fake tritonclient clients (the real
server is exercised in tests/integration/test_inference_triton.py)."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

from adapters.triton import wire
from adapters.triton.engine import TritonEngine
from domain.analysis.errors import InferenceUnavailable, InvalidInput


class _Response:
    def __init__(self, result: bytes) -> None:
        self._out = {"RESULT": np.array([[result]], dtype=object), "DATA": np.array([[wire.pack(b"")]], dtype=object)}

    def as_numpy(self, name: str) -> np.ndarray:
        return self._out[name]


class FakeClient:
    def __init__(self, name: str) -> None:
        self.name = name
        self.up = True
        self.calls = 0
        self.gate: asyncio.Event | None = None
        self.result = json.dumps([["positive", 0.9]]).encode()

    async def is_server_ready(self) -> bool:
        if not self.up:
            raise ConnectionError("connection refused")
        return True

    async def is_model_ready(self, model: str) -> bool:
        return await self.is_server_ready()

    async def infer(self, model, inputs, outputs=None, client_timeout=None):  # type: ignore[no-untyped-def]
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if not self.up:
            raise ConnectionError("socket closed")
        return _Response(self.result)

    async def close(self) -> None:
        pass


async def _engine(*names: str) -> tuple[TritonEngine, list[FakeClient]]:
    engine = TritonEngine([f"grpc://{n}:8001" for n in names], health_interval=3600)
    fakes = []
    for node in engine._nodes:
        node.client = FakeClient(node.address)
        fakes.append(node.client)
    await engine.check_now()
    return engine, fakes


async def test_calls_go_to_the_node_with_fewest_in_flight():
    engine, (a, b) = await _engine("a", "b")
    a.gate = asyncio.Event()  # a holds the calls it gets
    held = [asyncio.create_task(engine.text_sentiment(["x"], timeout=5)) for _ in range(2)]
    while a.calls + b.calls < 2:
        await asyncio.sleep(0.001)
    assert (a.calls, b.calls) == (1, 1)  # equal load: one each
    # a now has one call in flight and b none: the next calls all go to b.
    for _ in range(5):
        await engine.text_sentiment(["x"], timeout=5)
    assert (a.calls, b.calls) == (1, 6)
    a.gate.set()
    await asyncio.gather(*held)
    await engine.close()


async def test_a_failing_node_is_skipped_and_the_call_retried_on_another():
    engine, (a, b) = await _engine("a", "b")
    a.up = False  # dies after the health check said ready
    results = await asyncio.gather(*(engine.text_sentiment(["x"], timeout=5) for _ in range(6)))
    assert all(r[0].label == "positive" for r in results)
    health = {n.endpoint: n.ready for n in await engine.nodes()}
    assert health == {"grpc://a:8001": False, "grpc://b:8001": True}
    await engine.close()


async def test_no_ready_node_is_unavailable_and_a_returning_node_is_used_again():
    engine, (a,) = await _engine("a")
    a.up = False
    with pytest.raises(InferenceUnavailable):
        await engine.text_sentiment(["x"], timeout=5)
    with pytest.raises(InferenceUnavailable) as caught:
        await engine.text_sentiment(["x"], timeout=5)
    assert caught.value.details["reason"] == "no_ready_node"
    a.up = True
    await engine.check_now()
    assert (await engine.text_sentiment(["x"], timeout=5))[0].label == "positive"
    await engine.close()


async def test_a_server_side_domain_error_comes_back_as_that_error():
    engine, (a,) = await _engine("a")
    a.result = wire.error_result(InvalidInput("bad", reason="empty"))
    with pytest.raises(InvalidInput) as caught:
        await engine.text_sentiment(["x"], timeout=5)
    assert caught.value.details == {"reason": "empty"}
    assert (await engine.nodes())[0].ready  # the input was bad, not the node
    await engine.close()


async def test_a_slow_node_hits_the_deadline_as_unavailable():
    engine, (a,) = await _engine("a")
    a.gate = asyncio.Event()
    with pytest.raises(InferenceUnavailable) as caught:
        await engine.text_sentiment(["x"], timeout=0.05)
    assert caught.value.details["reason"] == "deadline"
    await engine.close()


def test_urls_must_be_grpc_or_http():
    with pytest.raises(ValueError):
        TritonEngine(["ftp://x:1"])


class _ModelError(Exception):
    def status(self) -> str:
        return "StatusCode.INTERNAL"


async def test_a_model_error_is_unavailable_but_leaves_the_node_in_service():
    engine, (a,) = await _engine("a")

    async def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise _ModelError("Failed to process the request")

    a.infer = broken  # type: ignore[method-assign]
    with pytest.raises(InferenceUnavailable) as caught:
        await engine.text_sentiment(["x"], timeout=5)
    assert caught.value.details["reason"] == "inference_failed"
    assert (await engine.nodes())[0].ready
    await engine.close()


class _ModelGone(Exception):
    def status(self) -> str:
        return "StatusCode.NOT_FOUND"


async def test_a_node_that_unloaded_the_model_while_stopping_is_skipped_and_the_call_served_elsewhere():
    engine, (a, b) = await _engine("a", "b")

    async def stopping(*args, **kwargs):  # type: ignore[no-untyped-def]
        a.calls += 1
        raise _ModelGone("Request for unknown model: 'text_sentiment' has no available versions")

    a.infer = stopping  # type: ignore[method-assign]
    results = await asyncio.gather(*(engine.text_sentiment(["x"], timeout=5) for _ in range(4)))
    assert all(r[0].label == "positive" for r in results)
    assert a.calls >= 1 and b.calls == 4
    await engine.close()
