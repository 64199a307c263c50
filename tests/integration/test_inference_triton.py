"""The Triton adapter against real model servers (``python -m runners.inference``).

The session's server comes from scripts/servers.sh (TEST_TRITON_URLS); the fault tests start private
servers they may kill, in their own process group.
"""

from __future__ import annotations

import asyncio
import json
import signal
import urllib.request

import numpy as np
import pytest
import pytest_asyncio
import tritonclient.grpc.aio as grpcclient

from adapters.inference import catalogue as names
from adapters.triton import wire
from adapters.triton.engine import TritonEngine
from confero_contracts import InferenceEngineContract
from confero_contracts.speech import SENTENCES, concat, espeak, wer
from domain.analysis.errors import InferenceUnavailable
from tests.support.triton import PrivateTriton, metrics_url, session_triton_urls

pytestmark = pytest.mark.integration


def _grpc_urls() -> list[str]:
    urls = [u for u in session_triton_urls() if u.startswith("grpc://")]
    assert urls, "TEST_TRITON_URLS holds no grpc:// endpoint"
    return urls


def _http_urls() -> list[str]:
    urls = [u for u in session_triton_urls() if u.startswith("http://")]
    assert urls, "TEST_TRITON_URLS holds no http:// endpoint"
    return urls


class TestTritonEngineGrpc(InferenceEngineContract):
    @pytest_asyncio.fixture
    async def engine(self):
        engine = await TritonEngine(_grpc_urls()[:1]).start()
        yield engine
        await engine.close()


async def test_the_http_transport_answers_too():
    engine = await TritonEngine(_http_urls()[:1]).start()
    try:
        result = await engine.transcribe(espeak(SENTENCES[0]), timeout=60)
        assert wer(SENTENCES[0], result.text) < 0.3
        assert (await engine.text_sentiment(["great"], timeout=10))[0].label == "positive"
    finally:
        await engine.close()


def _raw_inputs(payload: bytes, params: dict) -> list[grpcclient.InferInput]:
    inputs = []
    for name, value in (("PAYLOAD", wire.pack(payload)), ("AUX", wire.pack(b"")), ("PARAMS", wire.dumps(params))):
        tensor = grpcclient.InferInput(name, [1, 1], "BYTES")
        tensor.set_data_from_numpy(np.array([[value]], dtype=object))
        inputs.append(tensor)
    return inputs


async def test_every_model_answers_through_tritonclient():
    speech16, speech48 = espeak(SENTENCES[0]), espeak(SENTENCES[0], rate=48_000)
    calls = {
        names.TRANSCRIBE: (speech16.samples, {"sample_rate": 16_000}),
        names.SENTIMENT: (json.dumps(["good"]).encode(), {}),
        names.EMOTION: (json.dumps(["I am scared"]).encode(), {}),
        names.AROUSAL: (speech16.samples, {"sample_rate": 16_000}),
        names.DENOISE: (speech48.samples, {"sample_rate": 48_000, "method": "deepfilternet"}),
        names.ENHANCE: (bytes(8 * 8 * 3), {"width": 8, "height": 8, "operations": ["upscale2x"]}),
    }
    client = grpcclient.InferenceServerClient(_grpc_urls()[0].removeprefix("grpc://"))
    try:
        for model, (payload, params) in calls.items():
            assert await client.is_model_ready(model), model
            response = await client.infer(model, _raw_inputs(payload, params))
            result = json.loads(response.as_numpy("RESULT").reshape(-1)[0])
            assert not (isinstance(result, dict) and "error" in result), (model, result)
    finally:
        await client.close()


def _metric(text: str, name: str, model: str) -> int:
    for line in text.splitlines():
        if line.startswith(name + "{") and f'model="{model}"' in line:
            return int(float(line.rsplit(" ", 1)[1]))
    raise AssertionError(f"{name} for {model} is not in Triton's metrics")


async def _counts(model: str) -> tuple[int, int]:
    # Triton's statistics API is token-protected by PyTriton; its Prometheus counters are not.
    text = await asyncio.to_thread(lambda: urllib.request.urlopen(metrics_url(), timeout=10).read().decode())
    return _metric(text, "nv_inference_count", model), _metric(text, "nv_inference_exec_count", model)


async def test_concurrent_calls_are_batched_by_triton():
    engine = await TritonEngine(_grpc_urls()[:1]).start()
    try:
        before = await _counts(names.EMOTION)
        barrier = asyncio.Barrier(32)

        # Different answers per request, so a batch split back in the wrong order would show.
        texts = {"joy": "I am so happy about item {}", "fear": "I am terrified of what happens to item {}"}

        async def one(i: int):
            await barrier.wait()
            return await engine.text_emotion([texts["joy" if i % 2 else "fear"].format(i)], timeout=60)

        results = await asyncio.gather(*(one(i) for i in range(32)))
        assert [r[0][0].label for r in results] == ["joy" if i % 2 else "fear" for i in range(32)]
        after = await _counts(names.EMOTION)
        inferences, executions = after[0] - before[0], after[1] - before[1]
        assert inferences == 32
        assert executions < inferences, f"{inferences} requests ran in {executions} executions: no batching"
    finally:
        await engine.close()


@pytest.fixture(scope="module")
def _private_server():
    server = PrivateTriton()
    yield server
    server.stop()


@pytest.fixture
def private_triton(_private_server):
    """A model server of the test's own, running at the start of the test (one start is ~30 s: the
    fault tests share it, starting it again only when an earlier test killed it)."""
    if not _private_server.running:
        _private_server.start()
    return _private_server


async def test_a_killed_node_mid_request_is_unavailable_then_recovers_without_a_new_client(private_triton):
    engine = await TritonEngine([private_triton.grpc_url], health_interval=0.5).start()
    try:
        long_clip = concat(*(espeak(t) for t in SENTENCES))
        assert (await engine.text_sentiment(["fine"], timeout=30))[0].label == "positive"
        call = asyncio.create_task(engine.transcribe(long_clip, timeout=60))
        await asyncio.sleep(0.5)
        assert not call.done()
        private_triton.kill()
        with pytest.raises(InferenceUnavailable):
            await call
        with pytest.raises(InferenceUnavailable):
            await engine.text_sentiment(["fine"], timeout=5)
        assert not (await engine.nodes())[0].ready

        private_triton.start()
        for _ in range(120):
            if (await engine.nodes())[0].ready:
                break
            await asyncio.sleep(0.5)
        result = await engine.transcribe(espeak(SENTENCES[0]), timeout=60)
        assert wer(SENTENCES[0], result.text) < 0.3
    finally:
        await engine.close()


async def test_with_two_nodes_one_can_die_and_calls_keep_succeeding(private_triton):
    engine = await TritonEngine([_grpc_urls()[0], private_triton.grpc_url], health_interval=0.5).start()
    try:
        assert all(n.ready for n in await engine.nodes())

        async def caller(i: int) -> list[str]:
            labels = []
            for j in range(6):
                clip = espeak(SENTENCES[(i + j) % len(SENTENCES)])
                result = await engine.transcribe(clip, timeout=120)
                labels.append(result.text)
            return labels

        calls = asyncio.gather(*(caller(i) for i in range(4)))
        await asyncio.sleep(1.0)
        # This node dies by SIGTERM (a clean stop: the runner turns it into Triton.stop()); the test
        # above kills one outright.
        group = private_triton.proc.pid
        private_triton.proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(private_triton.proc.wait, 90) == 0
        # No tritonserver or backend stub left behind (helpers such as multiprocessing's resource
        # tracker notice their parent's exit a moment later: wait for the group to empty, bounded).
        for _ in range(100):
            left = private_triton.group_members(group)
            if not left:
                break
            await asyncio.sleep(0.1)
        assert left == [], private_triton.describe(left)
        results = await calls
        assert all(len(r) == 6 for r in results)
        health = {n.endpoint: n.ready for n in await engine.nodes()}
        assert health[private_triton.grpc_url] is False and health[_grpc_urls()[0]] is True
    finally:
        await engine.close()
