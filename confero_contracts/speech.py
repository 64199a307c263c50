"""Test speech for the inference suites and bench/ai.py: Debian espeak-ng saying known text, plus noise.

There is no natural-speech corpus here: every quality figure made with this audio compares methods on
synthetic speech, it is not meeting accuracy.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess

import numpy as np

from domain.analysis.inference import PcmAudio

SENTENCES = (
    "The quarterly report is ready and the numbers look good.",
    "Please share your screen so everyone can see the slides.",
    "We will meet again next Tuesday at three in the afternoon.",
    "Can you hear me now or is my microphone still muted?",
    "The new design makes the application much faster for our users.",
    "Let us move on to the next item on the agenda.",
)


@functools.lru_cache(maxsize=64)
def espeak(text: str, rate: int = 16_000, voice: str = "en-us", speed: int = 160) -> PcmAudio:
    """``text`` spoken by espeak-ng, as 16-bit mono PCM at ``rate`` (resampled by sox)."""
    if not shutil.which("espeak-ng") or not shutil.which("sox"):
        raise RuntimeError("test speech needs Debian's espeak-ng and sox (the Makefile's system-deps step)")
    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text],
                         check=True, capture_output=True, timeout=60).stdout
    raw = subprocess.run(["sox", "-t", "wav", "-", "-t", "raw", "-r", str(rate), "-e", "signed", "-b", "16",
                          "-c", "1", "-L", "-"], input=wav, check=True, capture_output=True, timeout=60).stdout
    return PcmAudio(samples=raw, sample_rate=rate)


def with_noise(audio: PcmAudio, snr_db: float | None, *, seed: int = 0, kind: str = "white") -> PcmAudio:
    """``audio`` plus white or pink noise at ``snr_db`` (None: unchanged), measured over the whole clip."""
    if snr_db is None:
        return audio
    x = np.frombuffer(audio.samples, "<i2").astype(np.float64)
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(len(x))
    if kind == "pink":
        spectrum = np.fft.rfft(noise)
        spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
        noise = np.fft.irfft(spectrum, len(x))
    power = np.mean(x**2)
    noise *= np.sqrt(power / (10 ** (snr_db / 10)) / np.mean(noise**2))
    mixed = np.clip(x + noise, -32768, 32767).astype("<i2")
    return PcmAudio(samples=mixed.tobytes(), sample_rate=audio.sample_rate)


def silence(seconds: float, rate: int = 16_000) -> PcmAudio:
    return PcmAudio(samples=b"\0\0" * int(seconds * rate), sample_rate=rate)


def concat(*clips: PcmAudio) -> PcmAudio:
    return PcmAudio(samples=b"".join(c.samples for c in clips), sample_rate=clips[0].sample_rate)


_NUMBERS = {"3": "three", "10": "ten"}


def words(text: str) -> list[str]:
    return [_NUMBERS.get(w, w) for w in re.sub(r"[^a-z0-9' ]", " ", text.lower()).split()]


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate: word-level edit distance over the reference's length."""
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[len(hyp)] / max(len(ref), 1)
