"""The after-meeting step on Debian's ffmpeg: per-participant files at their offsets into one file
with every video in a grid and the audio mixed; progress reported; the result uploaded."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from adapters.ffmpeg.graph import grid
from adapters.ffmpeg.processor import FfmpegRecordingProcessor
from adapters.webm import stored
from adapters.webm.remux import rebuild
from confero_contracts.recording_media import RecordingProcessorContract
from domain.recordings.errors import ProcessingFailed
from domain.recordings.media import RecordedFile
from domain.shared.ids import UserId
from adapters.localfs.blobs import LocalDirectoryBlobStore
from tests.support.encoded import decode_errors, probe, require_ffmpeg, streams, tile_counters
from tests.unit.test_recording_media import streamed_call

T0 = dt.datetime(2030, 1, 7, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(autouse=True)
def _ffmpeg() -> None:
    require_ffmpeg()


class TestFfmpegRecordingProcessor(RecordingProcessorContract):
    @pytest.fixture
    async def blobs(self, tmp_path: Path) -> LocalDirectoryBlobStore:
        return LocalDirectoryBlobStore(tmp_path / "store")

    @pytest.fixture
    async def processor(self, blobs: LocalDirectoryBlobStore) -> FfmpegRecordingProcessor:
        return FfmpegRecordingProcessor(blobs)  # type: ignore[arg-type]


async def participant_file(blobs: LocalDirectoryBlobStore, tmp: Path, name: str, offset: float, seconds: float) -> RecordedFile:
    data, _ = streamed_call(seconds)
    (tmp / f"{name}.s.webm").write_bytes(data)
    facts = rebuild(tmp / f"{name}.s.webm", tmp / f"{name}.webm")
    await blobs.put(f"rec/{name}.webm", (tmp / f"{name}.webm").read_bytes(), stored.WEBM)
    start = T0 + dt.timedelta(seconds=offset)
    return RecordedFile(key=f"rec/{name}.webm", user_id=UserId(name), content_type=stored.WEBM,
                        size=(tmp / f"{name}.webm").stat().st_size, duration_s=facts.duration_s, started_at=start,
                        ended_at=start + dt.timedelta(seconds=facts.duration_s), has_video=True, has_audio=True)


async def test_three_stays_become_one_meeting_file_with_each_video_in_its_tile_while_present(tmp_path: Path) -> None:
    blobs = LocalDirectoryBlobStore(tmp_path / "store")
    files = [await participant_file(blobs, tmp_path, "a", 0.0, 6.0),
             await participant_file(blobs, tmp_path, "b", 2.0, 4.0),   # joined later
             await participant_file(blobs, tmp_path, "c", 0.0, 3.0)]   # left early
    seen: list[float] = []

    async def progress(fraction: float) -> None:
        seen.append(fraction)

    processor = FfmpegRecordingProcessor(blobs)  # type: ignore[arg-type]
    result = await processor.compose(files, "rec/meeting.webm", progress)
    path = tmp_path / "meeting.webm"
    path.write_bytes(await blobs.read("rec/meeting.webm"))
    info = probe(path)
    assert {k: s["codec_name"] for k, s in streams(info).items()} == {"video": "vp8", "audio": "opus"}
    assert abs(float(info["format"]["duration"]) - 6.0) < 0.3 and abs(result.duration_s - 6.0) < 0.3
    assert result.user_id is None and result.size == path.stat().st_size and result.started_at == T0
    assert decode_errors(path) == ""
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 2
    assert processor.last_cpu_s is not None and processor.last_cpu_s > 0
    cols, _ = grid(3)
    frames = tile_counters(path, [(0, 0), (320, 0), (0, 240)][:cols + 1])
    for at, (a, b, c) in frames:
        if 0.3 < at < 5.7:
            assert a is not None and abs(a - at * 15) <= 3, (at, a)
        if 2.3 < at < 5.7:
            assert b is not None and abs(b - (at - 2.0) * 15) <= 3, (at, b)
        if at < 1.7:
            assert b is None, (at, b)
        if 0.3 < at < 2.7:
            assert c is not None and abs(c - at * 15) <= 3, (at, c)
        if at > 3.3:
            assert c is None, (at, c)
