"""Playing the others' audio: every remote audio track's decoded frames are mixed into one 48 kHz
stereo stream, written to an output device by a thread of its own (device writes block at real-time
pace, which the GUI thread must never do).

The device is a spec like the microphone's: ``FORMAT:DEVICE`` for ffmpeg's muxers (``alsa:default``),
or ``none``. PyAV's wheels bring their own libasound, which looks for its configuration elsewhere than
Debian's: ``ALSA_CONFIG_PATH`` is pointed at ``/usr/share/alsa/alsa.conf`` when that exists.
"""

from __future__ import annotations

import collections
import fractions
import logging
import os
import sys
import threading
import time
from array import array
from collections.abc import Callable
from typing import Any, Protocol

import av

log = logging.getLogger(__name__)

RATE = 48000
CHANNELS = 2
FRAME_SAMPLES = 960  # 20 ms
CHUNK = FRAME_SAMPLES * CHANNELS * 2  # bytes of one 20 ms s16 stereo chunk
MAX_QUEUED = 10  # 200 ms per track at most: beyond that the oldest audio is dropped (latency, not gaps)
ALSA_CONF = "/usr/share/alsa/alsa.conf"


class Sink(Protocol):
    def write(self, pcm: bytes) -> None:
        """Plays one CHUNK of s16 stereo at RATE; may block until the device takes it."""

    def close(self) -> None: ...


def mix(chunks: list[bytes]) -> bytes:
    """The sum of s16 chunks of equal length, clipped to the 16-bit range."""
    if len(chunks) == 1:
        return chunks[0]
    total = array("h", chunks[0])
    for chunk in chunks[1:]:
        other = array("h", chunk)
        for i, v in enumerate(other):
            s = total[i] + v
            total[i] = 32767 if s > 32767 else -32768 if s < -32768 else s
    if sys.byteorder != "little":
        total.byteswap()
    return total.tobytes()


class DeviceSink:
    """An ffmpeg output device through PyAV (``alsa:default``, ``alsa:null``, ...)."""

    def __init__(self, spec: str) -> None:
        fmt, _, device = spec.partition(":")
        if fmt == "alsa" and os.path.exists(ALSA_CONF):
            os.environ.setdefault("ALSA_CONFIG_PATH", ALSA_CONF)
        self.container = av.open(device or "default", "w", format=fmt)
        self.stream = self.container.add_stream("pcm_s16le", rate=RATE)
        self.stream.layout = "stereo"
        self.container.start_encoding()  # opens the device now: a missing one fails here, not at the first write
        self.pts = 0

    def write(self, pcm: bytes) -> None:
        frame = av.AudioFrame(format="s16", layout="stereo", samples=len(pcm) // (2 * CHANNELS))
        frame.planes[0].update(pcm)
        frame.sample_rate, frame.pts, frame.time_base = RATE, self.pts, fractions.Fraction(1, RATE)
        self.pts += frame.samples
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def close(self) -> None:
        self.container.close()


class Speaker:
    """Mixes the tracks fed to it (``feed``, on the event loop's thread) and plays them on ``sink``
    (opened and written in its own thread, ``start``). Playout is clocked: every 20 ms one chunk of each
    track that has one is mixed and written (a device that blocks longer sets the pace instead), so
    tracks arriving at the same rate play together. ``chunks_played`` counts what was written."""

    def __init__(self, open_sink: Callable[[], Sink], *, start: bool = True) -> None:
        self._open_sink = open_sink
        self._queues: dict[Any, collections.deque[bytes]] = {}
        self._resamplers: dict[Any, av.AudioResampler] = {}
        self._pending: dict[Any, bytes] = {}
        self._stop = threading.Event()
        self.chunks_played = 0
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="speaker", daemon=True)
        if start:
            self._thread.start()

    @classmethod
    def for_device(cls, spec: str) -> Speaker:
        return cls(lambda: DeviceSink(spec))

    def feed(self, key: Any, frame: av.AudioFrame) -> None:
        """One decoded frame of the track ``key`` (any rate and layout)."""
        resampler = self._resamplers.get(key)
        if resampler is None:
            resampler = self._resamplers[key] = av.AudioResampler(format="s16", layout="stereo", rate=RATE)
            self._queues[key] = collections.deque(maxlen=MAX_QUEUED)
        data = self._pending.pop(key, b"") + b"".join(bytes(f.planes[0])[:f.samples * CHANNELS * 2]
                                                       for f in resampler.resample(frame))
        queue = self._queues[key]
        while len(data) >= CHUNK:
            queue.append(data[:CHUNK])
            data = data[CHUNK:]
        if data:
            self._pending[key] = data

    def forget(self, key: Any) -> None:
        """The track ended: drop what is left of it."""
        self._queues.pop(key, None)
        self._resamplers.pop(key, None)
        self._pending.pop(key, None)

    def mixed(self) -> bytes | None:
        """The next 20 ms: one chunk of every track that has one, mixed; None when none has."""
        chunks = [q.popleft() for q in list(self._queues.values()) if q]
        return mix(chunks) if chunks else None

    def _run(self) -> None:
        try:
            sink = self._open_sink()
        except Exception as error:  # no such device: the meeting goes on without sound
            log.warning("no audio output: %s", error)
            self.error = error
            return
        try:
            tick = time.monotonic()
            while not self._stop.is_set():
                tick = max(tick + FRAME_SAMPLES / RATE, time.monotonic() - 0.1)  # no burst after a stall
                self._stop.wait(max(0.0, tick - time.monotonic()))
                pcm = self.mixed()
                if pcm is not None:
                    sink.write(pcm)
                    self.chunks_played += 1
        except Exception as error:
            log.warning("audio output failed: %s", error)
            self.error = error
        finally:
            sink.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
