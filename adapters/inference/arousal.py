"""Vocal arousal indicators: pitch (YIN), loudness and onset rate, relative to the speaker's baseline.

These are measurements, not emotions: higher pitch, louder voice and faster syllables than the same
speaker's baseline usually go with higher arousal, and nothing here maps them to an emotion label.
"""

from __future__ import annotations

import numpy as np

MODEL_VERSION = "prosody-yin-1 (numpy)"
_RATE = 16_000
_WINDOW, _HOP = 640, 160            # 40 ms analysis window, 10 ms hop
_F0_MIN, _F0_MAX = 60.0, 400.0
_YIN_THRESHOLD = 0.15
_SILENCE_DB = -45.0


def _frames(x: np.ndarray, length: int, hop: int) -> np.ndarray:
    if len(x) < length:
        x = np.pad(x, (0, length - len(x)))
    count = 1 + (len(x) - length) // hop
    idx = np.arange(length)[None, :] + hop * np.arange(count)[:, None]
    return x[idx]


def yin_f0(x: np.ndarray) -> np.ndarray:
    """F0 in Hz per 10 ms frame, NaN where unvoiced (de Cheveigné & Kawahara's YIN, steps 1-4)."""
    tau_max = int(_RATE / _F0_MIN)
    tau_min = int(_RATE / _F0_MAX)
    frames = _frames(x, _WINDOW + tau_max, _HOP)
    head = frames[:, :_WINDOW]
    size = 1 << int(np.ceil(np.log2(_WINDOW + tau_max + _WINDOW)))
    corr = np.fft.irfft(np.conj(np.fft.rfft(head, size)) * np.fft.rfft(frames, size), size)[:, : tau_max + 1]
    sq = np.concatenate([np.zeros((len(frames), 1)), np.cumsum(frames**2, axis=1)], axis=1)
    energy_shifted = sq[:, _WINDOW: _WINDOW + tau_max + 1] - sq[:, : tau_max + 1]
    diff = sq[:, _WINDOW:_WINDOW + 1] + energy_shifted - 2 * corr
    diff[:, 0] = 0
    cum = np.cumsum(diff[:, 1:], axis=1)
    cmnd = np.ones_like(diff)
    cmnd[:, 1:] = diff[:, 1:] * np.arange(1, tau_max + 1) / np.maximum(cum, 1e-12)
    f0 = np.full(len(frames), np.nan)
    for i, row in enumerate(cmnd):
        below = np.nonzero(row[tau_min:] < _YIN_THRESHOLD)[0]
        if not below.size:
            continue
        tau = tau_min + below[0]
        while tau + 1 <= tau_max and row[tau + 1] < row[tau]:
            tau += 1
        f0[i] = _RATE / tau
    return f0


def _loudness_db(x: np.ndarray) -> np.ndarray:
    rms = np.sqrt((_frames(x, _WINDOW, _HOP) ** 2).mean(axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-6))


def _onset_rate(db: np.ndarray, seconds: float) -> float:
    # Syllable-like onsets: the smoothed loudness rises by 6 dB within 50 ms out of a dip, above silence.
    smooth = np.convolve(db, np.ones(3) / 3, mode="same")
    rise = smooth[5:] - smooth[:-5]
    onsets = (rise > 6.0) & (smooth[5:] > _SILENCE_DB)
    starts = np.count_nonzero(onsets[1:] & ~onsets[:-1]) + int(onsets[:1].sum())
    return starts / max(seconds, 1e-3)


def indicators(x: np.ndarray) -> dict[str, float]:
    db = _loudness_db(x)
    voiced_db = db[db > _SILENCE_DB]
    f0 = yin_f0(x)
    # Both framings start at sample 0 with the same hop; the pitch one is shorter (longer window).
    voiced = f0[~np.isnan(f0) & (db[: len(f0)] > _SILENCE_DB)]
    semitones = 12 * np.log2(voiced / 100.0) if voiced.size else np.zeros(0)
    return {
        "pitch_median_hz": float(np.median(voiced)) if voiced.size else 0.0,
        "pitch_range_semitones": float(np.percentile(semitones, 90) - np.percentile(semitones, 10))
        if semitones.size >= 5 else 0.0,
        "loudness_db": float(np.median(voiced_db)) if voiced_db.size else _SILENCE_DB,
        "onset_rate_per_s": _onset_rate(db, len(x) / _RATE),
        "voiced_fraction": float(voiced.size / max(len(f0), 1)),
    }


def relative(clip: dict[str, float], baseline: dict[str, float]) -> dict[str, float]:
    """The clip's indicators plus their change against the baseline, and one arousal index in [-1, 1]."""
    pitch_shift = (12 * np.log2(clip["pitch_median_hz"] / baseline["pitch_median_hz"])
                   if clip["pitch_median_hz"] > 0 and baseline["pitch_median_hz"] > 0 else 0.0)
    loud_shift = clip["loudness_db"] - baseline["loudness_db"]
    rate_ratio = (clip["onset_rate_per_s"] / baseline["onset_rate_per_s"]
                  if baseline["onset_rate_per_s"] > 0 else 1.0)
    # Equal weights on +4 semitones, +6 dB and +50 % rate as "clearly raised": an indicator, not a model.
    index = np.tanh((pitch_shift / 4 + loud_shift / 6 + (rate_ratio - 1) / 0.5) / 3)
    return {**clip, "pitch_shift_semitones": float(pitch_shift), "loudness_shift_db": float(loud_shift),
            "onset_rate_ratio": float(rate_ratio), "arousal_index": float(index)}
