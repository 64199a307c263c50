"""A speaker's decoded audio cut into utterances: energy VAD with an adaptive noise floor and hangover.

Why energy and not a model: it costs microseconds per 20 ms frame on numpy (the tap runs on the SFU's
event loop, once per speaking member), has no model file to ship, and what it must decide is coarse:
when a person starts talking (then everything is passed on, pauses included, because the AI side cuts
its windows at pauses and must hear them) and when they stopped for ``end_silence_s`` (then the
utterance ends, so the AI side flushes the last window at once instead of waiting for more speech).
The quiet after the last voiced frame is held back until speech resumes (then it goes on, as a pause)
or the utterance ends (then only ``tail_s`` of it goes): a stream never ends on a long silence, which
would be a window of silence of its own (wasted inference, Whisper's "Thank you." on nothing, or a
window under the engine's 0.1 s minimum).  A pause's window cut therefore waits until speech resumes.
Whisper itself ignores the noise it is given inside an utterance.  Measured in
tests/unit/test_caption_speech_gate.py: espeak-ng sentences with pauses, white and pink noise.

A frame is voiced when its level is ``threshold_db`` above the noise floor and above ``min_db``.  The
floor follows the level down quickly and up slowly (``floor_rise_db_s``), so steady noise (a fan, hiss)
becomes the floor within a second or two, while speech, which dips between syllables, keeps it low.
``onset_s`` of voiced frames start an utterance (a click does not) if the level moved by ``modulation_db``
within them: speech rises and falls with its syllables, a fan or hiss that starts is steady, and the
floor jumps to a sound that stayed steady for ``steady_s`` (so it is never taken for speech for long).
The ``preroll_s`` before the onset goes with the utterance so the first syllable is not cut.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Iterator

import numpy as np
from attrs import frozen

RATE = 16_000
FRAME = RATE // 50  # 20 ms
FRAME_S = FRAME / RATE


@frozen
class Piece:
    """``start`` (an utterance begins), ``audio`` (20 ms of it, heard at ``at``: seconds on the caller's
    clock) or ``end``."""

    kind: str
    pcm: bytes = b""
    at: float = 0.0


class SpeechGate:
    def __init__(self, *, threshold_db: float = 8.0, min_db: float = -50.0, floor_rise_db_s: float = 4.0,
                 onset_s: float = 0.16, modulation_db: float = 6.0, steady_s: float = 0.5, preroll_s: float = 0.4,
                 end_silence_s: float = 0.8, tail_s: float = 0.1) -> None:
        self.threshold_db, self.min_db, self.modulation_db = threshold_db, min_db, modulation_db
        self._rise = floor_rise_db_s * FRAME_S
        self._onset = max(1, round(onset_s / FRAME_S))
        self._end = max(1, round(end_silence_s / FRAME_S))
        self._levels: collections.deque[float] = collections.deque(maxlen=max(self._onset, round(steady_s / FRAME_S)))
        self._preroll: collections.deque[tuple[bytes, float]] = collections.deque(
            maxlen=max(self._onset, round(preroll_s / FRAME_S)))
        self._held: list[tuple[bytes, float]] = []  # the quiet since the last voiced frame of an utterance
        self._tail = round(tail_s / FRAME_S)
        self._pending = b""
        self.floor: float | None = None
        self.talking = False
        self._voiced_run = 0
        self.voiced_frames = self.frames = 0

    def push(self, pcm: bytes, at: float) -> Iterator[Piece]:
        data = self._pending + pcm
        whole = len(data) // (2 * FRAME) * 2 * FRAME
        self._pending = data[whole:]
        for i in range(0, whole, 2 * FRAME):
            yield from self._frame(data[i:i + 2 * FRAME], at)

    def flush(self) -> Iterator[Piece]:
        """The audio ended (the member left): an utterance in progress ends."""
        if self.talking:
            self.talking = False
            self._held.clear()
            yield Piece("end")

    def _frame(self, frame: bytes, at: float) -> Iterator[Piece]:
        voiced = self._voiced(frame)
        self.frames += 1
        self.voiced_frames += voiced
        if not self.talking:
            self._preroll.append((frame, at))
            self._voiced_run = self._voiced_run + 1 if voiced else 0
            if self._voiced_run >= self._onset and self._modulated():
                self.talking = True
                yield Piece("start")
                for held, held_at in self._preroll:
                    yield Piece("audio", held, held_at)
                self._preroll.clear()
            return
        if voiced:  # a pause inside the utterance goes on with it: the AI side cuts its windows there
            for held, held_at in self._held:
                yield Piece("audio", held, held_at)
            self._held.clear()
            yield Piece("audio", frame, at)
            return
        self._held.append((frame, at))
        if len(self._held) >= self._end:
            for held, held_at in self._held[:self._tail]:
                yield Piece("audio", held, held_at)
            self._held.clear()
            self.talking, self._voiced_run = False, 0
            yield Piece("end")

    def _modulated(self) -> bool:
        recent = list(self._levels)[-self._onset:]
        return max(recent) - min(recent) >= self.modulation_db

    def _voiced(self, frame: bytes) -> bool:
        samples = np.frombuffer(frame, "<i2").astype(np.float32)
        power = float(np.dot(samples, samples)) / len(samples)
        level = 10 * math.log10(power / 32768.0**2) if power > 0 else -120.0
        self._levels.append(level)
        if self.floor is None:
            self.floor = level
        elif len(self._levels) == self._levels.maxlen and max(self._levels) - min(self._levels) < self.modulation_db:
            self.floor = min(self._levels)  # a steady sound: noise, not speech
        elif level < self.floor:
            self.floor += (level - self.floor) * 0.2
        else:
            self.floor += min(level - self.floor, self._rise)
        return level > max(self.floor + self.threshold_db, self.min_db)
