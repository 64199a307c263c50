"""Synthetic encoded media for recording tests (VP8 frames with drawn counters, Opus packets) and the
checks a recorded file must pass (ffprobe, a full decode with ffmpeg, the counters read back)."""

from __future__ import annotations

import fractions
import json
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import av

from adapters.webrtc.assembly import EncodedFrame
from tests.support.webrtc_rig import marked_frame, read_marks


class FakePublished:
    """A PublishedTrack as its observers see it: ``send`` offers a frame to each of them."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.label = kind
        self.id = f"{kind}-{id(self)}"
        self.codec = SimpleNamespace(clockRate=90000 if kind == "video" else 48000,
                                     name="VP8" if kind == "video" else "opus")
        self.observers: list[Any] = []
        self.keyframe_requests = 0

    def request_keyframe(self) -> None:
        self.keyframe_requests += 1

    def send(self, data: bytes, rtp: int, keyframe: bool) -> None:
        frame = EncodedFrame(data, rtp % (1 << 32), keyframe, 96, 1234)
        for observe in list(self.observers):
            observe(frame)


def vp8_frames(count: int, fps: int = 15, keyframe_every: int = 30, first: int = 0,
               size: tuple[int, int] = (320, 240)) -> list[tuple[bytes, bool]]:
    """(data, keyframe) of ``count`` VP8 frames whose pixels carry their counter (first, first+1...),
    drawn at 320x240 and scaled to ``size``."""
    enc = av.CodecContext.create("libvpx", "w")
    (enc.width, enc.height), enc.pix_fmt = size, "yuv420p"
    enc.time_base = fractions.Fraction(1, fps)
    enc.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    enc.gop_size = keyframe_every
    out = []
    for i in range(count):
        frame = marked_frame(first + i, 0)
        if size != (320, 240):
            frame = frame.reformat(width=size[0], height=size[1])
        frame.pts = i
        out += [(bytes(p), bool(p.is_keyframe)) for p in enc.encode(frame)]
    out += [(bytes(p), bool(p.is_keyframe)) for p in enc.encode(None)]
    return out


def opus_packets(pcm_48k_mono: bytes) -> list[bytes]:
    """20 ms Opus packets of 48 kHz mono 16-bit PCM (e.g. espeak-ng speech), as a browser would send."""
    enc = av.CodecContext.create("libopus", "w")
    enc.sample_rate, enc.layout, enc.format = 48000, "mono", "s16"
    out = []
    for i in range(len(pcm_48k_mono) // 1920):
        frame = av.AudioFrame(format="s16", layout="mono", samples=960)
        frame.sample_rate = 48000
        frame.planes[0].update(pcm_48k_mono[i * 1920:(i + 1) * 1920])
        frame.pts = i * 960
        out += [bytes(p) for p in enc.encode(frame)]
    return out + [bytes(p) for p in enc.encode(None)]


def opus_frames(count: int) -> list[bytes]:
    """``count`` 20 ms Opus packets of a quiet tone."""
    enc = av.CodecContext.create("libopus", "w")
    enc.sample_rate, enc.layout, enc.format = 48000, "stereo", "s16"
    out = []
    for i in range(count + 1):
        frame = av.AudioFrame(format="s16", layout="stereo", samples=960)
        frame.sample_rate = 48000
        frame.planes[0].update(bytes((j * 7 + i) % 64 for j in range(frame.planes[0].buffer_size)))
        frame.pts = i * 960
        out += [bytes(p) for p in enc.encode(frame)]
    return out[:count]


def require_ffmpeg() -> None:
    if shutil.which("ffprobe") is None or shutil.which("ffmpeg") is None:
        import pytest

        pytest.fail("recording tests need Debian's ffmpeg and ffprobe (make's system deps install them)")


def probe(path: Path) -> dict[str, Any]:
    out = subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-show_streams", "-show_format",
                          "-of", "json", str(path)], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def decode_errors(path: Path) -> str:
    proc = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"],
                          capture_output=True, text=True)
    return proc.stderr.strip() + ("" if proc.returncode == 0 else f" (exit {proc.returncode})")


def counters(path: Path) -> list[int]:
    """The counter drawn into each decoded video frame, in presentation order."""
    with av.open(str(path)) as container:
        return [read_marks(frame)[0] for frame in container.decode(video=0)]


def streams(info: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["codec_type"]: s for s in info["streams"]}


def tile_counters(path: Path, tiles: list[tuple[int, int]]) -> list[tuple[float, list[int | None]]]:
    """For each decoded video frame of a grid: (time, the counter drawn in each tile, None when the
    tile is black).  ``tiles`` are the top-left corners of tiles 320 wide."""
    from tests.support.webrtc_rig import BITS_PER_ROW, BLOCK

    out = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            plane = frame.reformat(format="gray").planes[0]
            luma, stride = bytes(plane), plane.line_size
            values: list[int | None] = []
            for x0, y0 in tiles:
                y = y0 + BLOCK // 2
                bits = [luma[y * stride + x0 + bit * BLOCK + BLOCK // 2] for bit in range(BITS_PER_ROW)]
                grey = luma[(y0 + 4 * BLOCK) * stride + x0 + 100]  # below the marks: grey in a picture, black outside
                values.append(None if grey < 60 else sum(1 << i for i, b in enumerate(bits) if b > 128))
            out.append((float(frame.time or 0.0), values))
    return out


def clock_drift_ms(path: Path, fps: int) -> float:
    """How far the file's video time line strays from the publisher's frame clock (the counter drawn
    into each frame over the frame rate, which is what its RTP timestamps carry): max - min of
    (frame time - counter / fps), in ms.  Stamping by arrival would add the network's jitter."""
    offsets = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            counter, _ = read_marks(frame)
            offsets.append(float(frame.time or 0.0) * 1000 - counter * 1000 / fps)
    return max(offsets) - min(offsets) if offsets else 0.0


def first_times(path: Path) -> dict[str, float]:
    """The first packet time of each stream kind."""
    out: dict[str, float] = {}
    with av.open(str(path)) as container:
        for packet in container.demux():
            if packet.pts is not None and packet.stream.type not in out:
                out[packet.stream.type] = float(packet.pts * packet.time_base)
    return out
