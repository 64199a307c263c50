"""How each call travels through Triton, shared by the client (adapters/triton) and the model server
(runners/inference) so the two cannot drift.

Every model takes three BYTES tensors of shape [1] per request (batchable whatever the audio length):
PAYLOAD (audio, frame or JSON texts), AUX (the arousal baseline, else empty) and PARAMS (JSON), and
answers RESULT (JSON: a value, or an error with its code) and DATA (audio or frame bytes, else empty).
Binary payloads carry one trailing marker byte: numpy's fixed-width bytes drop trailing NULs, and
PCM silence is NULs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from domain.analysis.errors import FeatureNotOffered, InferenceUnavailable, InvalidInput
from domain.analysis.inference import LabelScore, PcmAudio, Segment, Transcription, VideoFrame
from domain.shared.errors import DomainError

INPUTS = ("PAYLOAD", "AUX", "PARAMS")
OUTPUTS = ("RESULT", "DATA")
_MARK = b"\x01"
_ERRORS: dict[str, type[DomainError]] = {
    "invalid_input": InvalidInput, "feature_not_offered": FeatureNotOffered,
    "inference_unavailable": InferenceUnavailable,
}


def pack(data: bytes) -> bytes:
    return data + _MARK


def unpack(data: bytes) -> bytes:
    if not data.endswith(_MARK):
        raise ValueError("binary tensor without its end marker")
    return data[:-1]


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def error_result(error: DomainError) -> bytes:
    return dumps({"error": {"code": error.code, "message": error.message, "details": error.details}})


def raise_if_error(result: Mapping[str, Any]) -> None:
    error = result.get("error")
    if error is None:
        return
    cls = _ERRORS.get(error.get("code"), InferenceUnavailable)
    raise cls(str(error.get("message", "inference failed")), **dict(error.get("details") or {}))


# -- values <-> JSON ------------------------------------------------------------------------------------

def audio_params(audio: PcmAudio, **extra: Any) -> dict[str, Any]:
    return {"sample_rate": audio.sample_rate, **extra}


def transcription_to_json(t: Transcription) -> dict[str, Any]:
    return {"language": t.language,
            "segments": [[s.start_s, s.end_s, s.text, s.confidence] for s in t.segments]}


def transcription_from_json(d: Mapping[str, Any]) -> Transcription:
    return Transcription(language=d["language"], segments=tuple(
        Segment(start_s=a, end_s=b, text=t, confidence=c) for a, b, t, c in d["segments"]))


def scores_to_json(scores: list[LabelScore]) -> list[list[Any]]:
    return [[s.label, s.score] for s in scores]


def scores_from_json(d: list[list[Any]]) -> list[LabelScore]:
    return [LabelScore(label=label, score=score) for label, score in d]


def frame_params(frame: VideoFrame, operations: list[str]) -> dict[str, Any]:
    return {"width": frame.width, "height": frame.height, "operations": operations}
