"""The ffmpeg filter graph of a meeting file: every participant's video in a grid, their audio mixed,
each placed at its offset on the meeting's time line (black before and after a stay, silence in
its gaps).  A participant's picture may change size mid-file (the processor keeps ffmpeg from rebuilding
the graph then): scale and pad take each frame as it comes.  Pure: from the inputs' timing to ffmpeg arguments."""

from __future__ import annotations

import math
from collections.abc import Sequence

from attrs import frozen


@frozen
class Placed:
    """One input file on the meeting's time line (seconds from the meeting file's start)."""

    offset_s: float
    video: tuple[float, float] | None  # (first, last) video time inside the file
    audio: bool


def grid(count: int) -> tuple[int, int]:
    cols = math.ceil(math.sqrt(count))
    return cols, math.ceil(count / cols)


def filter_graph(inputs: Sequence[Placed], total_s: float, tile: tuple[int, int], fps: int) -> tuple[str, list[str]]:
    """(filter_complex, the -map arguments)."""
    w, h = tile
    chains, videos, audios = [], [], []
    for i, placed in enumerate(inputs):
        if placed.video is not None:
            start = placed.offset_s + placed.video[0]
            after = max(0.0, total_s - placed.offset_s - placed.video[1]) + 1.0
            chains.append(
                f"[{i}:v:0]setpts=PTS-STARTPTS,fps={fps},scale={w}:{h}:force_original_aspect_ratio=decrease,"
                f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black:eval=frame,setsar=1,"
                f"tpad=start_duration={start:.3f}:stop_duration={after:.3f}:color=black[v{i}]")
            videos.append(f"[v{i}]")
        if placed.audio:
            delay = round(placed.offset_s * 1000)
            chains.append(f"[{i}:a:0]aresample=48000:async=1:first_pts=0,adelay=delays={delay}:all=1[a{i}]")
            audios.append(f"[a{i}]")
    maps = []
    if len(videos) > 1:
        cols, _ = grid(len(videos))
        layout = "|".join(f"{(k % cols) * w}_{(k // cols) * h}" for k in range(len(videos)))
        chains.append(f"{''.join(videos)}xstack=inputs={len(videos)}:layout={layout}:fill=black,"
                      f"trim=duration={total_s:.3f}[vout]")
    elif videos:
        chains.append(f"{videos[0]}trim=duration={total_s:.3f}[vout]")
    if videos:
        maps += ["-map", "[vout]"]
    if len(audios) > 1:
        chains.append(f"{''.join(audios)}amix=inputs={len(audios)}:duration=longest:normalize=0,"
                      f"atrim=duration={total_s:.3f}[aout]")
    elif audios:
        chains.append(f"{audios[0]}atrim=duration={total_s:.3f}[aout]")
    if audios:
        maps += ["-map", "[aout]"]
    return ";".join(chains), maps
