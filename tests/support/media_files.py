"""Generated media for the analysis tests: tones as WAV / Ogg, a small PNG, and broken files."""

from __future__ import annotations

import io
import math
import struct
import wave


def wav(seconds: float, rate: int = 44_100, channels: int = 1, freq: float = 440.0) -> bytes:
    n = int(seconds * rate)
    frames = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * freq * i / rate))) * channels
                      for i in range(n))
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return buf.getvalue()


def ogg_opus(seconds: float) -> bytes:
    import av
    import numpy as np

    buf = io.BytesIO()
    with av.open(buf, mode="w", format="ogg") as out:
        stream = out.add_stream("libopus", rate=48_000)
        stream.layout = "mono"
        t = np.arange(int(seconds * 48_000)) / 48_000
        pcm = (np.sin(2 * np.pi * 300 * t) * 8000).astype(np.int16).reshape(1, -1)
        for start in range(0, pcm.shape[1], 960):
            frame = av.AudioFrame.from_ndarray(pcm[:, start:start + 960], format="s16", layout="mono")
            frame.sample_rate = 48_000
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def png(width: int = 32, height: int = 24) -> bytes:
    from adapters.pyav.decoding import png_file
    from domain.analysis.inference import VideoFrame

    rgb = bytes((x * 7 + y * 3) % 256 for y in range(height) for x in range(width) for _ in range(3))
    return png_file(VideoFrame(width=width, height=height, rgb=rgb))


GARBAGE = bytes(range(256)) * 64


def webm_opus(pcm: bytes | None = None, *, seconds: float = 1.0, rate: int = 48_000) -> bytes:
    """A WebM with one Opus track, as the recorder writes a participant's audio: ``pcm`` (16-bit mono at
    ``rate``, e.g. espeak-ng speech) or, without it, a tone of ``seconds``."""
    import av
    import numpy as np

    if pcm is None:
        t = np.arange(int(seconds * rate)) / rate
        samples = (np.sin(2 * np.pi * 300 * t) * 8000).astype(np.int16)
    else:
        samples = np.frombuffer(pcm, dtype=np.int16)
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="webm") as out:
        stream = out.add_stream("libopus", rate=48_000)
        stream.layout = "mono"
        resampler = av.AudioResampler(format="s16", layout="mono", rate=48_000)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = rate
        for piece in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(piece):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()
