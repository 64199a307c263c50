"""The model server's side of the wire (adapters/triton/serving.py), without Triton: a batch of requests
is answered in order, each bad request with its own error and the others unharmed."""

from __future__ import annotations

import json

import pytest

from adapters.inference import catalogue as names
from adapters.inference.models import ModelSet
from adapters.triton import wire
from adapters.triton.serving import handle_batch
from domain.analysis.errors import InvalidInput


@pytest.fixture(scope="module")
def models() -> ModelSet:
    return ModelSet()


def _texts(texts: object) -> tuple[bytes, bytes, bytes]:
    return wire.pack(json.dumps(texts).encode()), wire.pack(b""), b"{}"


def test_a_text_batch_is_split_back_in_order_with_errors_in_place(models):
    requests = [_texts(["I love it"]), (wire.pack(b"not json"), wire.pack(b""), b"{}"), _texts([]),
                _texts(["I hate it", "The file is here."])]
    answers = [json.loads(result) for result, _ in handle_batch(models, names.SENTIMENT, requests)]
    assert answers[0] == [["positive", answers[0][0][1]]]
    assert answers[1]["error"]["code"] == "invalid_input"
    assert answers[2]["error"]["details"] == {"reason": "empty"}
    assert [label for label, _ in answers[3]] == ["negative", "neutral"]


def test_audio_requests_with_bad_params_answer_invalid_input(models):
    requests = [(wire.pack(b"\0\0" * 1600), wire.pack(b""), b"[1]"),
                (wire.pack(b"\0\0" * 1600), wire.pack(b""), b'{"sample_rate": 8000}')]
    answers = [json.loads(result) for result, _ in handle_batch(models, names.AROUSAL, requests)]
    assert [a["error"]["details"]["reason"] for a in answers] == ["bad_params", "wrong_rate"]


def test_errors_travel_back_as_the_same_domain_error():
    with pytest.raises(InvalidInput) as caught:
        wire.raise_if_error(json.loads(wire.error_result(InvalidInput("too long", reason="too_long"))))
    assert caught.value.details == {"reason": "too_long"}


def test_binary_payloads_keep_trailing_zero_bytes():
    assert wire.unpack(wire.pack(b"ab\0\0")) == b"ab\0\0"
    with pytest.raises(ValueError):
        wire.unpack(b"ab\0")
