"""Encoded VP8 and Opus packets into a WebM byte stream, produced as the recording goes.

The container is written to a sink that cannot seek, so every byte is final once produced: the bytes
can be uploaded at once and concatenated later.  The price is a stream without duration or cues;
``remux.rebuild`` adds them (stream copy) when the file is finished.  Clusters are closed every
``cluster_ms`` and the muxer's interleaving window is bounded, so what has been written is never more
than about a second behind the last packet in.
"""

from __future__ import annotations

import fractions
from typing import Any

import av
from attrs import frozen

MS = fractions.Fraction(1, 1000)
DEFAULT_SIZE = (640, 480)
# RFC 7845 5.1 identification header: version 1, 2 channels, 312 samples pre-skip, 48 kHz, no gain,
# mapping family 0.  WebRTC's Opus is always 48 kHz stereo-capable, so one header fits every track.
OPUS_HEAD = b"OpusHead" + bytes([1, 2]) + (312).to_bytes(2, "little") + (48000).to_bytes(4, "little") + bytes(3)


@frozen
class MediaPacket:
    """One encoded frame on the file's clock (milliseconds from the file's start)."""

    kind: str  # "audio" | "video"
    data: bytes
    pts_ms: int
    keyframe: bool


def vp8_size(keyframe: bytes) -> tuple[int, int] | None:
    """(width, height) from a VP8 key frame's header (RFC 6386 9.1), None for other frames."""
    if len(keyframe) < 10 or keyframe[0] & 1 or keyframe[3:6] != b"\x9d\x01\x2a":
        return None
    return (int.from_bytes(keyframe[6:8], "little") & 0x3FFF, int.from_bytes(keyframe[8:10], "little") & 0x3FFF)


class _Sink:
    """Write-only (no ``seek``): PyAV then treats the output as a stream."""

    def __init__(self) -> None:
        self.pending = bytearray()
        self.total = 0

    def write(self, data: Any) -> int:
        self.pending += data
        self.total += len(data)
        return len(data)


class WebmMuxer:
    """``write`` packets in order per kind (a late one is moved just after its predecessor), ``take``
    the bytes produced so far, ``close`` for the last ones.  Streams are fixed at construction."""

    def __init__(self, *, video: bool, audio: bool, size: tuple[int, int] | None = None,
                 cluster_ms: int = 1000) -> None:
        if not (video or audio):
            raise ValueError("a WebM file needs a video or an audio stream")
        self._sink = _Sink()
        self._container = av.open(self._sink, "w", format="webm", options={
            "cluster_time_limit": str(cluster_ms), "max_interleave_delta": str(cluster_ms * 500)})
        self._streams: dict[str, Any] = {}
        if video:
            stream = self._container.add_stream("libvpx")
            stream.width, stream.height = size or DEFAULT_SIZE
            stream.time_base = MS
            self._streams["video"] = stream
        if audio:
            stream = self._container.add_stream("libopus", rate=48000)
            stream.codec_context.extradata = OPUS_HEAD
            stream.time_base = MS
            self._streams["audio"] = stream
        self._last: dict[str, int] = {}
        self.clamped = 0  # packets moved after their predecessor (the tap should never need it)
        self.frames = {kind: 0 for kind in self._streams}
        self.first_ms: int | None = None
        self.last_ms: int | None = None
        self._closed = False

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(self._streams)

    def write(self, packet: MediaPacket) -> None:
        stream = self._streams.get(packet.kind)
        if stream is None or self._closed:
            return
        pts = max(packet.pts_ms, self._last.get(packet.kind, -1) + 1)
        self.clamped += pts != packet.pts_ms
        self._last[packet.kind] = pts
        out = av.Packet(packet.data)
        out.pts = out.dts = pts
        out.time_base = MS
        out.is_keyframe = packet.keyframe or packet.kind == "audio"
        out.stream = stream
        self._container.mux(out)
        self.frames[packet.kind] += 1
        self.first_ms = pts if self.first_ms is None else min(self.first_ms, pts)
        self.last_ms = pts if self.last_ms is None else max(self.last_ms, pts)

    def take(self) -> bytes:
        data = bytes(self._sink.pending)
        self._sink.pending.clear()
        return data

    @property
    def size(self) -> int:
        return self._sink.total

    def close(self) -> bytes:
        if not self._closed:
            self._closed = True
            self._container.close()
        return self.take()
