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
from domain.recordings.media import RecordedFile
from domain.shared.ids import UserId
from adapters.localfs.blobs import LocalDirectoryBlobStore
from adapters.webm.muxer import MediaPacket, WebmMuxer, vp8_size
from tests.support.encoded import decode_errors, opus_frames, probe, require_ffmpeg, streams, tile_counters, vp8_frames
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


@pytest.mark.parametrize("later", [(640, 480), (480, 270)])
async def test_a_participant_whose_picture_changes_size_is_composed_whole_and_decodes_cleanly(
        tmp_path: Path, later: tuple[int, int]) -> None:
    # Chromium lowers (or raises) its resolution to suit its CPU: a keyframe of another size mid-file.
    # ffmpeg rebuilt its whole graph then: the mixed audio's time line went back ("non monotonically
    # increasing dts" at decode) and the video stopped short.
    fps, half = 15, 45
    video = vp8_frames(half, fps, keyframe_every=fps) + vp8_frames(half, fps, keyframe_every=fps, first=half, size=later)
    audio = opus_frames(2 * half * 50 // fps)
    muxer = WebmMuxer(video=True, audio=True, size=vp8_size(video[0][0]))
    events = sorted([(i * 1000 // fps, "video", i) for i in range(len(video))] + [(i * 20, "audio", i) for i in range(len(audio))])
    for at, kind, i in events:
        data, key = video[i] if kind == "video" else (audio[i], True)
        muxer.write(MediaPacket(kind, data, at, key))
    (tmp_path / "a.s.webm").write_bytes(muxer.close())
    facts = rebuild(tmp_path / "a.s.webm", tmp_path / "a.webm")
    blobs = LocalDirectoryBlobStore(tmp_path / "store")
    await blobs.put("rec/a.webm", (tmp_path / "a.webm").read_bytes(), stored.WEBM)
    files = [RecordedFile(key="rec/a.webm", user_id=UserId("a"), content_type=stored.WEBM, size=1,
                          duration_s=facts.duration_s, started_at=T0, ended_at=T0 + dt.timedelta(seconds=facts.duration_s),
                          has_video=True, has_audio=True),
             await participant_file(blobs, tmp_path, "b", 1.0, 4.0)]

    async def progress(fraction: float) -> None:
        pass

    result = await FfmpegRecordingProcessor(blobs).compose(files, "rec/meeting.webm", progress)  # type: ignore[arg-type]
    path = tmp_path / "meeting.webm"
    path.write_bytes(await blobs.read("rec/meeting.webm"))
    assert decode_errors(path) == ""
    assert abs(result.duration_s - 6.0) < 0.3
    frames = tile_counters(path, [(0, 0)])
    assert frames[-1][0] > 5.5, "the video goes on to the end"
    if later[0] * 3 == later[1] * 4:  # the same shape: the counters can be read all along
        for at, (a,) in frames:
            if 0.3 < at < 5.7:
                assert a is not None and abs(a - at * fps) <= 3, (at, a)
