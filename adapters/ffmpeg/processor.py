"""``FfmpegRecordingProcessor``: the RecordingProcessor port (ports/recording_media.py) on Debian's
ffmpeg.  The per-participant files are read from the blob store into a scratch directory, ffmpeg
makes one WebM (VP8 grid + mixed Opus; it decodes and re-encodes, off the forwarding path), and the
result is uploaded.  Progress comes from ffmpeg's ``-progress`` lines (``out_time_us`` over the
meeting's length); the CPU ffmpeg used is what its ``-benchmark`` line reports (``last_cpu_s``; an info-level line,
hence ``-v info``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import av

from adapters.ffmpeg.graph import Placed, filter_graph
from adapters.webm.stored import WEBM, upload_file
from domain.recordings.errors import ProcessingFailed
from domain.recordings.media import RecordedFile
from ports.blobs import BlobStore

log = logging.getLogger(__name__)
READ_SIZE = 8 * 1024 * 1024
BENCH = re.compile(r"bench: utime=([\d.]+)s stime=([\d.]+)s rtime=([\d.]+)s")


def _timing(path: Path) -> tuple[tuple[float, float] | None, bool, float]:
    """(first and last video time, has audio, end) of a per-participant file, from its packets."""
    first: float | None = None
    last, end, audio = 0.0, 0.0, False
    with av.open(str(path)) as container:
        for packet in container.demux():
            if packet.pts is None:
                continue
            at = float(packet.pts * packet.time_base)
            end = max(end, at + float((packet.duration or 0) * packet.time_base))
            if packet.stream.type == "video":
                first = at if first is None else first
                last = max(last, at)
            elif packet.stream.type == "audio":
                audio = True
    return ((first, last) if first is not None else None), audio, end


class FfmpegRecordingProcessor:
    def __init__(self, blobs: BlobStore, *, ffmpeg: str = "ffmpeg", tile: tuple[int, int] = (320, 240),
                 fps: int = 15, video_bitrate: str = "1M", scratch: str | None = None) -> None:
        self.blobs = blobs
        self.ffmpeg = ffmpeg
        self.tile = tile
        self.fps = fps
        self.video_bitrate = video_bitrate
        self.scratch = scratch
        self.last_cpu_s: float | None = None
        self.last_wall_s: float | None = None

    async def compose(self, files: Sequence[RecordedFile], out_key: str,
                      progress: Callable[[float], Awaitable[None]]) -> RecordedFile:
        files = [f for f in files if f.has_video or f.has_audio]
        if not files:
            raise ProcessingFailed("no recorded media to combine")
        origin = min(f.started_at for f in files)
        with tempfile.TemporaryDirectory(prefix="compose-", dir=self.scratch) as tmp:
            paths = []
            for i, file in enumerate(files):
                paths.append(Path(tmp) / f"in{i}.webm")
                await self._download(file.key, paths[-1])
            placed, total = [], 0.0
            for file, path in zip(files, paths):
                try:
                    video, audio, end = await asyncio.to_thread(_timing, path)
                except av.FFmpegError as exc:
                    raise ProcessingFailed(f"{file.key} cannot be read: {exc}") from None
                offset = (file.started_at - origin).total_seconds()
                placed.append(Placed(offset_s=offset, video=video, audio=audio))
                total = max(total, offset + end)
            out = Path(tmp) / "meeting.webm"
            await self._run(paths, placed, total, out, progress)
            size = await upload_file(self.blobs, out_key, out, WEBM)
            _, has_audio, duration = await asyncio.to_thread(_timing, out)
            has_video = any(p.video is not None for p in placed)
        await progress(1.0)
        return RecordedFile(key=out_key, user_id=None, content_type=WEBM, size=size, duration_s=round(duration, 3),
                            started_at=origin, ended_at=origin + dt.timedelta(seconds=round(duration, 3)),
                            has_video=has_video, has_audio=has_audio)

    async def _download(self, key: str, path: Path) -> None:
        with path.open("wb") as out:
            start = 0
            while True:
                data = await self.blobs.read(key, start, start + READ_SIZE)
                out.write(data)
                start += len(data)
                if len(data) < READ_SIZE:
                    return

    async def _run(self, paths: list[Path], placed: list[Placed], total: float, out: Path,
                   progress: Callable[[float], Awaitable[None]]) -> None:
        graph, maps = filter_graph(placed, total, self.tile, self.fps)
        argv = [self.ffmpeg, "-nostdin", "-hide_banner", "-nostats", "-v", "info", "-benchmark", "-progress", "pipe:1"]
        for path in paths:  # a publisher's resolution changes (Chromium adapts it to its CPU): the graph
            # must not be rebuilt, which restarts every chain in it (audio time lines went back, video was cut)
            argv += ["-reinit_filter", "0", "-i", str(path)]
        argv += ["-filter_complex", graph, *maps, "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8",
                 "-b:v", self.video_bitrate, "-c:a", "libopus", "-b:a", "64k", "-f", "webm", str(out)]
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE)
        assert proc.stdout is not None and proc.stderr is not None
        errors = asyncio.ensure_future(proc.stderr.read())
        reported = -1.0
        try:
            async for line in proc.stdout:
                key, _, value = line.decode(errors="replace").strip().partition("=")
                if key == "out_time_us" and value.lstrip("-").isdigit() and total > 0:
                    fraction = min(1.0, max(0.0, int(value) / 1e6 / total))
                    if fraction - reported >= 0.01:
                        reported = fraction
                        await progress(fraction)
            code = await proc.wait()
        except BaseException:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            raise
        stderr = (await errors).decode(errors="replace")
        self.last_wall_s = time.monotonic() - started
        bench = BENCH.search(stderr)
        self.last_cpu_s = float(bench[1]) + float(bench[2]) if bench else None
        if code != 0:
            raise ProcessingFailed(f"ffmpeg exited {code}: {stderr.strip()[-500:]}")
        log.info("meeting file composed", extra={"inputs": len(paths), "media_s": round(total, 2),
                                                 "cpu_s": self.last_cpu_s, "wall_s": round(self.last_wall_s, 2)})
