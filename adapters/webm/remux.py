"""A streamed (or cut-off) WebM into a finished one: stream copy, adding duration and cues.

The input may end in the middle of a cluster (a crash while uploading): demuxing stops at the first
damaged packet and everything before it is kept.  Nothing is decoded.
"""

from __future__ import annotations

import fractions
import logging
from pathlib import Path

import av
from attrs import frozen

log = logging.getLogger(__name__)
# A call's video has a variable frame rate (Chromium adapts it to its CPU, often starting slow).  The file
# declares its timestamps' 1 ms grid as the rate (just under 1000 fps: Matroska writes no default duration
# at exactly its time base); the rate guessed from the first frames, copied before, made tools that put
# frames on the declared rate's grid (ffmpeg's decode) find two frames in one slot once the rate rose.
VIDEO_GRID = fractions.Fraction(1000000, 1001)


@frozen
class FileFacts:
    duration_s: float
    video_frames: int
    audio_frames: int

    @property
    def has_video(self) -> bool:
        return self.video_frames > 0

    @property
    def has_audio(self) -> bool:
        return self.audio_frames > 0


class NothingToSave(Exception):
    """The input holds no readable packet."""


def rebuild(source: Path, target: Path) -> FileFacts:
    try:
        src = av.open(str(source), "r", format="webm")
    except av.FFmpegError as exc:
        raise NothingToSave(str(exc)) from None
    counts = {"video": 0, "audio": 0}
    first: float | None = None
    last = 0.0
    with src, av.open(str(target), "w", format="webm") as dst:
        outs = {s.index: dst.add_stream_from_template(s) for s in src.streams if s.type in counts}
        for out in outs.values():
            if out.type == "video":
                out.codec_context.framerate = VIDEO_GRID
        try:
            for packet in src.demux(*[s for s in src.streams if s.index in outs]):
                if packet.dts is None or packet.size == 0:
                    continue
                kind = packet.stream.type
                start = float(packet.pts * packet.time_base)
                end = start + float((packet.duration or 0) * packet.time_base)
                first = start if first is None else min(first, start)
                last = max(last, end)
                packet.stream = outs[packet.stream.index]
                dst.mux(packet)
                counts[kind] += 1
        except (av.FFmpegError, ValueError) as exc:  # a cut-off last cluster: keep what came before
            log.info("recording stream ends damaged: kept what precedes", extra={"error": str(exc)})
    if first is None:
        target.unlink(missing_ok=True)
        raise NothingToSave(f"{source.name}: no packet")
    return FileFacts(duration_s=round(last, 3), video_frames=counts["video"], audio_frames=counts["audio"])
