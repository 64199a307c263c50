"""The model server's side of the wire: a batch of Triton requests -> ModelSet calls -> responses.

Text models run one forward pass over every text of the batch (real batching); audio and frame models
take the batch's requests one after the other (batching only saves Triton's per-request overhead).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from adapters.inference import catalogue as names
from adapters.inference.models import MAX_TEXTS, ModelSet, check_texts
from adapters.triton import wire
from domain.analysis.errors import InvalidInput
from domain.analysis.inference import PcmAudio, VideoFrame
from domain.shared.errors import DomainError

Request = tuple[bytes, bytes, bytes]      # PAYLOAD, AUX, PARAMS as received (binary ones still marked)
Response = tuple[bytes, bytes]            # RESULT, DATA (DATA marked)
_EMPTY = wire.pack(b"")


def handle_batch(models: ModelSet, model: str, requests: Sequence[Request]) -> list[Response]:
    if model in (names.SENTIMENT, names.EMOTION):
        return _texts(models, model, requests)
    handler = _SINGLE[model]
    out = []
    for request in requests:
        try:
            out.append(handler(models, *request))
        except DomainError as error:
            out.append((wire.error_result(error), _EMPTY))
    return out


def _params(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        raise InvalidInput("PARAMS is not JSON", reason="bad_params") from None
    if not isinstance(value, dict):
        raise InvalidInput("PARAMS is not a JSON object", reason="bad_params")
    return value


def _audio(raw: bytes, params: dict[str, Any], key: str = "sample_rate") -> PcmAudio:
    rate = params.get(key)
    if not isinstance(rate, int):
        raise InvalidInput("the sample rate is missing", reason="wrong_rate")
    return PcmAudio(samples=wire.unpack(raw), sample_rate=rate)


def _transcribe(models: ModelSet, payload: bytes, aux: bytes, raw: bytes) -> Response:
    params = _params(raw)
    found = models.transcribe(_audio(payload, params), str(params.get("prompt", "")))
    return wire.dumps(wire.transcription_to_json(found)), _EMPTY


def _arousal(models: ModelSet, payload: bytes, aux: bytes, raw: bytes) -> Response:
    params = _params(raw)
    baseline = _audio(aux, params, "baseline_rate") if params.get("baseline_rate") else None
    return wire.dumps(models.vocal_arousal(_audio(payload, params), baseline)), _EMPTY


def _denoise(models: ModelSet, payload: bytes, aux: bytes, raw: bytes) -> Response:
    params = _params(raw)
    out = models.denoise(_audio(payload, params), str(params.get("method", "")))
    return wire.dumps({"sample_rate": out.sample_rate}), wire.pack(out.samples)


def _enhance(models: ModelSet, payload: bytes, aux: bytes, raw: bytes) -> Response:
    params = _params(raw)
    try:
        frame = VideoFrame(width=int(params["width"]), height=int(params["height"]), rgb=wire.unpack(payload))
    except (KeyError, TypeError, ValueError):
        raise InvalidInput("width and height are required", reason="bad_params") from None
    out = models.enhance_frame(frame, list(params.get("operations") or ()))
    return wire.dumps({"width": out.width, "height": out.height}), wire.pack(out.rgb)


_SINGLE: dict[str, Callable[[ModelSet, bytes, bytes, bytes], Response]] = {
    names.TRANSCRIBE: _transcribe, names.AROUSAL: _arousal, names.DENOISE: _denoise, names.ENHANCE: _enhance,
}
SERVED = (names.TRANSCRIBE, names.SENTIMENT, names.EMOTION, names.AROUSAL, names.DENOISE, names.ENHANCE)


def _texts(models: ModelSet, model: str, requests: Sequence[Request]) -> list[Response]:
    per_request: list[list[str] | DomainError] = []
    for payload, _aux, _raw in requests:
        try:
            texts = json.loads(wire.unpack(payload))
            check_texts(texts)
            per_request.append(texts)
        except DomainError as error:
            per_request.append(error)
        except ValueError:
            per_request.append(InvalidInput("texts must be a JSON list of strings", reason="not_text"))
    flat = [t for item in per_request if isinstance(item, list) for t in item]
    scored: list[Any] = []
    try:
        for start in range(0, len(flat), MAX_TEXTS):
            chunk = flat[start:start + MAX_TEXTS]
            if model == names.SENTIMENT:
                scored += [[s.label, s.score] for s in models.text_sentiment(chunk)]
            else:
                scored += [wire.scores_to_json(list(tags)) for tags in models.text_emotion(chunk)]
    except DomainError as error:
        return [(wire.error_result(error), _EMPTY)] * len(requests)
    out, at = [], 0
    for item in per_request:
        if isinstance(item, DomainError):
            out.append((wire.error_result(item), _EMPTY))
        else:
            out.append((wire.dumps(scored[at:at + len(item)]), _EMPTY))
            at += len(item)
    return out
