"""Encoded frames out of RTP packets, in the receiver's place of aiortc's JitterBuffer.

Same duck type as ``aiortc.jitterbuffer.JitterBuffer`` (``add(packet) -> (pli_wanted, frame)``),
but it never returns a frame to the receiver (so nothing is ever decoded); it hands each
complete frame to ``sink`` at once:

- video: a frame is released when its packets are contiguous from the end of the previous frame
  and the last one carries the RTP marker bit (or the next packet already has a new timestamp),
  so there is no extra frame of delay;
- a hole that NACK/RTX did not fill within ``loss_timeout`` is skipped: frames are then dropped
  until a keyframe, and a PLI is asked for (at most every ``pli_interval``);
- audio: each packet is a frame, released at once (with its ssrc-audio-level, when the extension was
  negotiated); late or duplicate packets are dropped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from attrs import frozen

from adapters.webrtc.aiortc_internals import depayloaded

SEQ_MOD = 1 << 16


def seq_delta(a: int, b: int) -> int:
    """b - a in sequence-number space, in [-32768, 32767]."""
    return (b - a + 0x8000) % SEQ_MOD - 0x8000


@frozen
class EncodedFrame:
    data: bytes
    rtp_timestamp: int
    keyframe: bool
    payload_type: int
    ssrc: int
    audio_level: int | None = None  # RFC 6464 level in -dBov (0 loudest, 127 silence) when negotiated


def vp8_starts_frame(payload: bytes) -> bool:
    # RFC 7741 payload descriptor: S bit set and partition index 0.
    return bool(payload) and payload[0] & 0x10 != 0 and payload[0] & 0x0F == 0


def vp8_is_keyframe(first_data: bytes) -> bool:
    # RFC 6386 9.1: P bit (bit 0 of the frame tag) is 0 on key frames.
    return bool(first_data) and first_data[0] & 0x01 == 0


def h264_starts_frame(payload: bytes) -> bool:
    if len(payload) < 2:
        return False
    if payload[0] & 0x1F == 28:  # FU-A: only its first fragment starts something
        return payload[1] & 0x80 != 0
    return True


def h264_is_keyframe(annex_b: bytes) -> bool:
    i = annex_b.find(b"\x00\x00\x01")
    while 0 <= i < len(annex_b) - 3:
        if annex_b[i + 3] & 0x1F in (5, 7):  # IDR slice or SPS
            return True
        i = annex_b.find(b"\x00\x00\x01", i + 3)
    return False


class VideoFrameAssembler:
    def __init__(self, sink: Callable[[EncodedFrame], None], codec_name: Callable[[int], str | None], *,
                 loss_timeout: float = 0.3, pli_interval: float = 0.5, capacity: int = 1024,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._sink = sink
        self._codec_name = codec_name
        self._loss_timeout = loss_timeout
        self._pli_interval = pli_interval
        self._capacity = capacity
        self._clock = clock
        self._packets: dict[int, Any] = {}
        self._next: int | None = None
        self._stalled_since: float | None = None
        self._need_keyframe = True
        self._last_pli = -float("inf")
        self.frames_released = 0
        self.frames_dropped = 0
        self.holes_skipped = 0
        self.keyframe_requests = 0

    @property
    def capacity(self) -> int:
        return self._capacity

    def add(self, packet: Any) -> tuple[bool, None]:
        seq = packet.sequence_number
        if self._next is None:
            self._next = seq
            self._last_pli = self._clock()  # the stream starts with a keyframe: no PLI unless it is lost
        delta = seq_delta(self._next, seq)
        if delta < 0:
            return False, None  # already released or skipped (a late retransmission)
        if delta >= self._capacity:
            self._skip_to(seq)
        self._packets[seq] = packet
        self._drain()
        if not self._packets:
            self._stalled_since = None
        elif self._stalled_since is None:
            self._stalled_since = self._clock()
        elif self._clock() - self._stalled_since > self._loss_timeout:
            self._skip_hole()
        return self._pli_due(), None

    def _pli_due(self) -> bool:
        if not self._need_keyframe:
            return False
        now = self._clock()
        if now - self._last_pli < self._pli_interval:
            return False
        self._last_pli = now
        self.keyframe_requests += 1
        return True

    def _drain(self) -> None:
        while (first := self._packets.get(self._next)) is not None:
            parts, seq = [first], self._next
            while not parts[-1].marker:
                nxt = self._packets.get((seq + 1) % SEQ_MOD)
                if nxt is None:
                    return  # rest of the frame not here (yet)
                if nxt.timestamp != first.timestamp:
                    break  # sender without marker bits: the next frame has begun
                parts.append(nxt)
                seq = (seq + 1) % SEQ_MOD
            for i in range(len(parts)):
                del self._packets[(self._next + i) % SEQ_MOD]
            self._next = (seq + 1) % SEQ_MOD
            self._stalled_since = None
            self._release(parts)

    def _release(self, parts: list[Any]) -> None:
        name = (self._codec_name(parts[0].payload_type) or "").lower()
        data = b"".join(depayloaded(p) for p in parts)
        if name == "vp8":
            whole = vp8_starts_frame(parts[0].payload)
            keyframe = whole and vp8_is_keyframe(depayloaded(parts[0]))
        elif name == "h264":
            whole = h264_starts_frame(parts[0].payload)
            keyframe = whole and h264_is_keyframe(data)
        else:
            whole, keyframe = True, False
        if not whole or (self._need_keyframe and not keyframe):
            self.frames_dropped += 1
            self._need_keyframe = True
            return
        self._need_keyframe = False
        self.frames_released += 1
        self._sink(EncodedFrame(data, parts[0].timestamp, keyframe, parts[0].payload_type, parts[0].ssrc))

    def _skip_hole(self) -> None:
        assert self._next is not None
        hole = self._next
        while hole in self._packets:
            hole = (hole + 1) % SEQ_MOD
        after = [s for s in self._packets if seq_delta(hole, s) > 0]
        self._skip_to(min(after, key=lambda s: seq_delta(hole, s)) if after else hole)
        self._drain()

    def _skip_to(self, seq: int) -> None:
        assert self._next is not None
        for s in [s for s in self._packets if seq_delta(self._next, s) < seq_delta(self._next, seq)]:
            del self._packets[s]
        self._next = seq
        self._stalled_since = None
        self._need_keyframe = True
        self.holes_skipped += 1


class SimulcastAssembler:
    """The receiver's jitter buffer for a RID-simulcast video track: one ``VideoFrameAssembler`` per
    layer SSRC (``layers``: SSRC -> layer, filled in by the caller as it learns them; packets of an SSRC
    not there yet are dropped). A layer's loss makes the receiver PLI that layer's SSRC."""

    def __init__(self, sink: Callable[[EncodedFrame], None], codec_name: Callable[[int], str | None],
                 layers: Mapping[int, Any], **options: Any) -> None:
        self._sink = sink
        self._codec_name = codec_name
        self._layers = layers
        self._options = options
        self.assemblers: dict[int, VideoFrameAssembler] = {}

    @property
    def capacity(self) -> int:
        return 1024

    def add(self, packet: Any) -> tuple[bool, None]:
        assembler = self.assemblers.get(packet.ssrc)
        if assembler is None:
            if packet.ssrc not in self._layers:
                return False, None
            assembler = self.assemblers[packet.ssrc] = VideoFrameAssembler(self._sink, self._codec_name,
                                                                           **self._options)
        return assembler.add(packet)

    @property
    def frames_released(self) -> int:
        return sum(a.frames_released for a in self.assemblers.values())

    @property
    def frames_dropped(self) -> int:
        return sum(a.frames_dropped for a in self.assemblers.values())

    @property
    def holes_skipped(self) -> int:
        return sum(a.holes_skipped for a in self.assemblers.values())

    @property
    def keyframe_requests(self) -> int:
        return sum(a.keyframe_requests for a in self.assemblers.values())


class AudioFrameAssembler:
    def __init__(self, sink: Callable[[EncodedFrame], None]) -> None:
        self._sink = sink
        self._last: int | None = None
        self.frames_released = 0

    @property
    def capacity(self) -> int:
        return 1

    def add(self, packet: Any) -> tuple[bool, None]:
        seq = packet.sequence_number
        if self._last is not None and seq_delta(self._last, seq) <= 0:
            return False, None
        self._last = seq
        self.frames_released += 1
        level = getattr(packet.extensions, "audio_level", None)
        self._sink(EncodedFrame(depayloaded(packet), packet.timestamp, True, packet.payload_type, packet.ssrc,
                                level[1] if level is not None else None))
        return False, None
