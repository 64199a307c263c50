"""The captions VAD (adapters/webrtc/speech_gate.py) measured on espeak-ng sentences with short and long
pauses, clean and under white/pink noise, and on noise alone; and the stream-time -> arrival mapping
that gives captions their wall-clock times."""

from __future__ import annotations

import numpy as np
import pytest

from adapters.webrtc.speaker_captions import StreamTimes
from adapters.webrtc.speech_gate import SpeechGate
from confero_contracts.speech import SENTENCES, concat, espeak, silence, with_noise
from domain.analysis.inference import PcmAudio


def gated(audio: PcmAudio) -> tuple[list[tuple[str, float]], float]:
    """(start/end events with their times, seconds of audio passed on)."""
    gate, events, passed = SpeechGate(), [], 0
    for i in range(0, len(audio.samples), 640):
        at = i / 32_000
        for piece in gate.push(audio.samples[i:i + 640], at):
            if piece.kind == "audio":
                passed += 1
            else:
                events.append((piece.kind, at))
    events += [(p.kind, len(audio.samples) / 32_000) for p in gate.flush()]
    return events, passed * 0.02


def noise(seconds: float, level: float, kind: str, seed: int = 3) -> PcmAudio:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(int(seconds * 16_000))
    if kind == "pink":
        spectrum = np.fft.rfft(x) / np.sqrt(np.maximum(np.arange(len(x) // 2 + 1), 1))
        x = np.fft.irfft(spectrum, len(x))
    return PcmAudio(samples=(x / x.std() * level).astype("<i2").tobytes(), sample_rate=16_000)


# Three sentences with 0.35 s pauses (one utterance: the AI side cuts windows there), then three with
# 1.5 s pauses (three utterances); 28 s in all, 24 s of it speech and short pauses.
TALK = [espeak(s) for s in SENTENCES[:3]]
SPOKEN = concat(*[p for s in TALK for p in (s, silence(0.35))], silence(2.0),
                *[p for s in SENTENCES[3:] for p in (espeak(s), silence(1.5))])
LONG_PAUSES_START = sum(s.duration_s + 0.35 for s in TALK)


@pytest.mark.parametrize("snr_db, kind", [(None, "white"), (20, "white"), (20, "pink"), (10, "white"),
                                          (10, "pink")])
def test_speech_is_passed_on_with_its_short_pauses_and_long_silences_are_cut(snr_db, kind):
    events, passed = gated(with_noise(SPOKEN, snr_db, kind=kind))
    starts = [at for k, at in events if k == "start"]
    assert [k for k, _ in events] == ["start", "end"] * len(starts)
    assert starts[0] < 0.5  # the first words open an utterance at once (the preroll covers the onset)
    assert 4 <= len(starts) <= 6  # one per sentence after the long pauses; noise may split the first three
    assert sum(1 for at in starts if at > LONG_PAUSES_START) == 3
    assert 17.0 <= passed <= 22.0  # of 28.3 s, 21.5 s of it sentences and short pauses: not the long silences


@pytest.mark.parametrize("kind", ["white", "pink"])
@pytest.mark.parametrize("level", [100, 1000, 5000])
def test_steady_noise_opens_no_utterance(kind, level):
    assert gated(noise(10.0, level, kind))[0] == []


@pytest.mark.parametrize("level", [100, 1000, 5000])
def test_white_noise_that_starts_after_silence_opens_no_utterance(level):
    assert gated(concat(silence(2.0), noise(8.0, level, "white")))[0] == []


@pytest.mark.parametrize("level", [100, 1000, 5000])
def test_pink_noise_that_starts_after_silence_passes_at_most_a_short_burst(level):
    """A known limit of an energy VAD: the swell of pink noise right after digital silence can look like
    an onset; the floor takes it within ``steady_s`` and the utterance ends ``end_silence_s`` later."""
    events, passed = gated(concat(silence(2.0), noise(8.0, level, "pink")))
    assert len(events) <= 2 and passed <= 2.0  # preroll + steady_s + end_silence_s = 1.7 s


def test_digital_silence_opens_no_utterance():
    assert gated(silence(5.0))[0] == []


def test_stream_seconds_map_back_to_arrival_across_dropped_audio():
    times = StreamTimes()
    for i in range(50):  # 1 s sent in 20 ms chunks arriving in real time from t=100
        times.sent(0.02, 100.0 + i * 0.02)
    for i in range(50):  # then 2 s were dropped: the next second arrived from t=103
        times.sent(0.02, 103.0 + i * 0.02)
    assert times.arrival(0.0) == 100.0
    assert times.arrival(0.5) == pytest.approx(100.5)
    assert times.arrival(1.5) == pytest.approx(103.5)
    assert times.sent_s == pytest.approx(2.0)


def test_jitter_does_not_move_the_anchor():
    times = StreamTimes()
    for i in range(100):
        times.sent(0.02, 10.0 + i * 0.02 + (0.05 if i % 2 else -0.05))
    assert times.arrival(1.0) == pytest.approx(10.95)  # 10.0 - 0.05 (first chunk) + 1.0
