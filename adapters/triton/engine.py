"""InferenceEngine on one or more Triton nodes through tritonclient's asyncio clients.

Each URL is ``grpc://host:port`` (default scheme) or ``http://host:port``.  A background task checks
every node's readiness (server and per model) every ``health_interval`` seconds; calls go to the ready
node serving the model with the fewest calls in flight, and a call whose node fails (connection lost,
server gone) is retried on another ready node while its deadline allows: inference is idempotent.
With no ready node the call raises InferenceUnavailable at once (the API answers 503).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import numpy as np

from adapters.inference import catalogue as names
from adapters.inference import pcm
from adapters.inference.catalogue import CATALOGUE, SYNTHETIC_SPEECH_REFUSAL
from adapters.inference.fair import FairScheduler
from adapters.inference.models import check_texts
from adapters.inference.streaming import transcribe_windows
from adapters.triton import wire
from domain.analysis.errors import FeatureNotOffered, InferenceUnavailable, InvalidInput
from domain.analysis.inference import LabelScore, ModelInfo, NodeHealth, PcmAudio, Transcription, VideoFrame

log = logging.getLogger(__name__)
_PROBE_TIMEOUT = 2.0


class _Node:
    def __init__(self, url: str) -> None:
        scheme, sep, address = url.partition("://")
        if not sep:
            scheme, address = "grpc", url
        if scheme not in ("grpc", "http"):
            raise ValueError(f"Triton URL scheme must be grpc:// or http://, got {url!r}")
        self.url, self.scheme, self.address = url, scheme, address
        if scheme == "grpc":
            import tritonclient.grpc.aio as client
        else:
            import tritonclient.http.aio as client  # type: ignore[no-redef]
        self.module = client
        self.client: Any = client.InferenceServerClient(address)
        self.ready = False
        self.models_ready: frozenset[str] = frozenset()
        self.error: str | None = "not checked yet"
        self.in_flight = 0

    def health(self) -> NodeHealth:
        return NodeHealth(endpoint=self.url, ready=self.ready, models_ready=tuple(sorted(self.models_ready)),
                          error=self.error)


class TritonEngine:
    """Implements ports.inference.InferenceEngine; ``start()`` runs the first health check."""

    def __init__(self, urls: Sequence[str], *, health_interval: float = 2.0, stream_slots: int | None = None) -> None:
        if not urls:
            raise ValueError("at least one Triton URL is needed")
        self._nodes = [_Node(u) for u in urls]
        # Caption windows in flight at once (default two per node: one computing while the next is sent).
        self._streams = FairScheduler(stream_slots or 2 * len(self._nodes))
        self._interval = health_interval
        self._checker: asyncio.Task[None] | None = None
        self._closed = False
        self._turn = 0

    async def start(self) -> TritonEngine:
        await self.check_now()
        self._checker = asyncio.create_task(self._check_forever(), name="triton-health")
        return self

    async def check_now(self) -> None:
        await asyncio.gather(*(self._check(n) for n in self._nodes))

    async def _check_forever(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.check_now()
            except Exception:  # a failed round must not end the loop: the next one may succeed
                log.exception("triton health round failed")

    async def _check(self, node: _Node) -> None:
        try:
            ready = await asyncio.wait_for(node.client.is_server_ready(), _PROBE_TIMEOUT)
            models = await asyncio.gather(*(asyncio.wait_for(node.client.is_model_ready(m), _PROBE_TIMEOUT)
                                            for m in _SERVED))
        except Exception as error:  # any failure to answer means "not ready", whatever the transport
            was = node.ready
            node.ready, node.models_ready, node.error = False, frozenset(), _describe(error)
            if was:
                log.warning("triton node %s is down: %s", node.url, node.error)
            return
        if ready and not node.ready:
            log.info("triton node %s is ready", node.url)
        node.ready = bool(ready)
        node.models_ready = frozenset(m for m, ok in zip(_SERVED, models, strict=True) if ok)
        node.error = None if ready else "server not ready"

    def _pick(self, model: str, tried: set[int]) -> _Node | None:
        candidates = [i for i, n in enumerate(self._nodes)
                      if n.ready and model in n.models_ready and i not in tried]
        if not candidates:
            return None
        least = min(self._nodes[i].in_flight for i in candidates)
        ties = [i for i in candidates if self._nodes[i].in_flight == least]
        self._turn += 1  # rotate among equally loaded nodes
        return self._nodes[ties[self._turn % len(ties)]]

    async def _infer(self, model: str, payload: bytes, params: dict[str, Any], *, aux: bytes = b"",
                     timeout: float) -> tuple[dict[str, Any], bytes]:
        if self._closed:
            raise InferenceUnavailable("the inference engine is closed")
        deadline = time.monotonic() + timeout
        tried: set[int] = set()
        last_error = "no Triton node serving this model is ready"
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise InferenceUnavailable(f"inference did not finish within {timeout:.1f} s", reason="deadline")
            node = self._pick(model, tried)
            if node is None:
                raise InferenceUnavailable(last_error, reason="no_ready_node", model=model)
            tried.add(self._nodes.index(node))
            node.in_flight += 1
            try:
                result = await asyncio.wait_for(self._call(node, model, payload, aux, params, remaining), remaining)
            except TimeoutError:
                raise InferenceUnavailable(f"inference did not finish within {timeout:.1f} s",
                                           reason="deadline") from None
            except Exception as error:
                if _is_deadline(error):
                    raise InferenceUnavailable(f"inference did not finish within {timeout:.1f} s",
                                               reason="deadline") from None
                if not _node_down(error):
                    # The node answered with an error of its model: another node runs the same code.
                    log.error("triton model %s failed on %s: %s", model, node.url, _describe(error))
                    raise InferenceUnavailable(f"model {model} failed: {_describe(error)}",
                                               reason="inference_failed", model=model) from None
                # The node failed, not the input: take it out until the health check sees it back.
                node.ready, node.error = False, _describe(error)
                last_error = f"Triton node {node.url} failed: {node.error}"
                log.warning("%s", last_error)
                continue
            finally:
                node.in_flight -= 1
            raw_result, data = result
            decoded = json.loads(raw_result)
            if isinstance(decoded, dict):
                wire.raise_if_error(decoded)
            return decoded, data

    async def _call(self, node: _Node, model: str, payload: bytes, aux: bytes, params: dict[str, Any],
                    remaining: float) -> tuple[bytes, bytes]:
        m = node.module
        inputs = []
        for name, value in (("PAYLOAD", wire.pack(payload)), ("AUX", wire.pack(aux)), ("PARAMS", wire.dumps(params))):
            tensor = m.InferInput(name, [1, 1], "BYTES")
            tensor.set_data_from_numpy(np.array([[value]], dtype=object))
            inputs.append(tensor)
        outputs = [m.InferRequestedOutput(n) for n in wire.OUTPUTS]
        if node.scheme == "grpc":
            response = await node.client.infer(model, inputs, outputs=outputs, client_timeout=remaining)
        else:
            response = await node.client.infer(model, inputs, outputs=outputs)
        result = response.as_numpy("RESULT").reshape(-1)[0]
        data = response.as_numpy("DATA").reshape(-1)[0]
        return bytes(result), wire.unpack(bytes(data))

    # -- the port ------------------------------------------------------------------------------------

    async def transcribe(self, audio: PcmAudio, *, prompt: str = "", timeout: float) -> Transcription:
        pcm.check_audio(audio, pcm.ASR_RATE, what="transcription")
        result, _ = await self._infer(names.TRANSCRIBE, audio.samples, wire.audio_params(audio, prompt=prompt),
                                      timeout=timeout)
        return wire.transcription_from_json(result)

    async def text_sentiment(self, texts: Sequence[str], *, timeout: float) -> list[LabelScore]:
        check_texts(texts)
        result, _ = await self._infer(names.SENTIMENT, wire.dumps(list(texts)), {}, timeout=timeout)
        return wire.scores_from_json(result)

    async def text_emotion(self, texts: Sequence[str], *, timeout: float) -> list[tuple[LabelScore, ...]]:
        check_texts(texts)
        result, _ = await self._infer(names.EMOTION, wire.dumps(list(texts)), {}, timeout=timeout)
        return [tuple(wire.scores_from_json(tags)) for tags in result]

    async def vocal_arousal(self, audio: PcmAudio, *, baseline: PcmAudio | None = None,
                            timeout: float) -> dict[str, float]:
        pcm.check_audio(audio, pcm.ASR_RATE, what="vocal arousal")
        params = wire.audio_params(audio)
        if baseline is not None:
            pcm.check_audio(baseline, pcm.ASR_RATE, what="the arousal baseline")
            params["baseline_rate"] = baseline.sample_rate
        result, _ = await self._infer(names.AROUSAL, audio.samples, params,
                                      aux=baseline.samples if baseline else b"", timeout=timeout)
        return {k: float(v) for k, v in result.items()}

    async def synthetic_speech_risk(self, audio: PcmAudio, *, timeout: float) -> float:
        raise FeatureNotOffered(SYNTHETIC_SPEECH_REFUSAL, reason="no_validated_detector")

    async def denoise(self, audio: PcmAudio, *, method: str, timeout: float) -> PcmAudio:
        from adapters.inference.denoise import METHODS

        if method not in METHODS:
            raise InvalidInput(f"denoise method must be one of {', '.join(METHODS)}", reason="unknown_method")
        pcm.check_audio(audio, pcm.DENOISE_RATE, what="denoising")
        result, data = await self._infer(names.DENOISE, audio.samples, wire.audio_params(audio, method=method),
                                         timeout=timeout)
        return PcmAudio(samples=data, sample_rate=int(result["sample_rate"]))

    async def enhance_frame(self, frame: VideoFrame, *, operations: Sequence[str], timeout: float) -> VideoFrame:
        pcm.check_frame(frame)
        result, data = await self._infer(names.ENHANCE, frame.rgb, wire.frame_params(frame, list(operations)),
                                         timeout=timeout)
        return VideoFrame(width=int(result["width"]), height=int(result["height"]), rgb=data)

    def transcribe_stream(self, windows: AsyncIterator[PcmAudio], *, timeout: float) -> AsyncIterator[Transcription]:
        return transcribe_windows(self.transcribe, windows, timeout=timeout, scheduler=self._streams)

    async def models(self) -> list[ModelInfo]:
        return list(CATALOGUE)

    async def nodes(self) -> list[NodeHealth]:
        return [n.health() for n in self._nodes]

    async def close(self) -> None:
        self._closed = True
        if self._checker is not None:
            self._checker.cancel()
            await asyncio.gather(self._checker, return_exceptions=True)
        for node in self._nodes:
            try:
                await node.client.close()
            except Exception:  # closing a channel to a dead server may fail; nothing is left to release
                log.debug("closing %s failed", node.url, exc_info=True)


_SERVED = (names.TRANSCRIBE, names.SENTIMENT, names.EMOTION, names.AROUSAL, names.DENOISE, names.ENHANCE)


def _describe(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text[:300]


def _node_down(error: BaseException) -> bool:
    """Transport failures (connection refused or lost, server shutting down), as opposed to a model's error."""
    import aiohttp

    if isinstance(error, OSError | aiohttp.ClientError | asyncio.IncompleteReadError):
        return True
    status = getattr(error, "status", None)
    code = str((status() if callable(status) else status) or "")
    return any(c in code for c in ("UNAVAILABLE", "CANCELLED", "UNKNOWN", "ABORTED")) or not code


def _is_deadline(error: BaseException) -> bool:
    status = getattr(error, "status", None)
    code = status() if callable(status) else status
    return "DEADLINE_EXCEEDED" in str(code or "")
