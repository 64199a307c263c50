"""PCM bytes <-> float arrays, and the input checks every engine applies before inference."""

from __future__ import annotations

import numpy as np

from domain.analysis.errors import InvalidInput
from domain.analysis.inference import PcmAudio, VideoFrame

ASR_RATE = 16_000
DENOISE_RATE = 48_000
MAX_AUDIO_S = 600.0
MIN_AUDIO_S = 0.1
MAX_FRAME_PIXELS = 1920 * 1080


def check_audio(audio: PcmAudio, rate: int, *, what: str) -> None:
    if audio.sample_rate != rate:
        raise InvalidInput(f"{what} takes {rate} Hz audio, got {audio.sample_rate} Hz",
                           reason="wrong_rate", expected_rate=rate)
    if len(audio.samples) % 2:
        raise InvalidInput("16-bit PCM has an even number of bytes", reason="not_audio")
    if audio.duration_s < MIN_AUDIO_S:
        raise InvalidInput(f"{what} needs at least {MIN_AUDIO_S} s of audio", reason="empty")
    if audio.duration_s > MAX_AUDIO_S:
        raise InvalidInput(f"{what} takes at most {MAX_AUDIO_S:.0f} s per call", reason="too_long")


def check_frame(frame: VideoFrame) -> None:
    if frame.width <= 0 or frame.height <= 0:
        raise InvalidInput("a frame needs a positive width and height", reason="empty")
    if frame.width * frame.height > MAX_FRAME_PIXELS:
        raise InvalidInput(f"frames are limited to {MAX_FRAME_PIXELS} pixels", reason="too_large")
    if len(frame.rgb) != frame.width * frame.height * 3:
        raise InvalidInput("frame bytes do not match width x height x 3 (RGB24)", reason="size_mismatch")


def to_float(audio: PcmAudio) -> np.ndarray:
    return np.frombuffer(audio.samples, dtype="<i2").astype(np.float32) / 32768.0


def from_float(samples: np.ndarray, rate: int) -> PcmAudio:
    clipped = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 32767 / 32768)
    return PcmAudio(samples=(clipped * 32768.0).astype("<i2").tobytes(), sample_rate=rate)
