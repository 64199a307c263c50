"""Opus packets (one RTP payload each) -> 16 kHz mono signed 16-bit little-endian PCM, with PyAV.

For the captions tap only: the SFU forwards Opus as it came and never decodes it.  A packet that does
not decode (loss concealment is not attempted) yields no audio and is counted."""

from __future__ import annotations

import av

RATE = 16_000


class OpusToPcm:
    def __init__(self, rate: int = RATE) -> None:
        self._decoder = av.CodecContext.create("opus", "r")
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
        self.undecodable = 0

    def decode(self, payload: bytes) -> bytes:
        try:
            frames = self._decoder.decode(av.Packet(payload))
        except (av.FFmpegError, ValueError):
            self.undecodable += 1
            return b""
        out = bytearray()
        for frame in frames:
            for piece in self._resampler.resample(frame):
                out += bytes(piece.planes[0])[:piece.samples * 2]
        return bytes(out)
