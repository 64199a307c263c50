"""The recorder's media pieces with synthetic encoded frames (PyAV-encoded VP8 with counters drawn in
the pixels, Opus): the WebM muxer and its rebuild, the tap's timestamps, gaps and keyframe rules, a
stay written and uploaded in chunks, and files checked with ffprobe and a full ffmpeg decode."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from adapters.webm import stored
from adapters.webm.muxer import MediaPacket, WebmMuxer, vp8_size
from adapters.webm.remux import NothingToSave, rebuild
from adapters.webrtc.recording_tap import StayClock, TrackTap
from adapters.webrtc.stay_writer import StayWriter
from adapters.localfs.blobs import LocalDirectoryBlobStore
from tests.support.blobs import FlakyBlobs
from tests.support.encoded import FakePublished, counters, decode_errors, opus_frames, probe, require_ffmpeg, streams, vp8_frames

FPS = 15


@pytest.fixture(autouse=True)
def _ffmpeg() -> None:
    require_ffmpeg()


def streamed_call(seconds: float, *, keyframe_every: int = 30) -> tuple[bytes, WebmMuxer]:
    video = vp8_frames(int(seconds * FPS), FPS, keyframe_every)
    audio = opus_frames(int(seconds * 50))
    muxer = WebmMuxer(video=True, audio=True, size=vp8_size(video[0][0]))
    out = bytearray()
    events = [(i * 1000 // FPS, "video", i) for i in range(len(video))] + [(i * 20, "audio", i) for i in range(len(audio))]
    for at, kind, i in sorted(events):
        data, key = video[i] if kind == "video" else (audio[i], True)
        muxer.write(MediaPacket(kind, data, at, key))
        out += muxer.take()
    out += muxer.close()
    return bytes(out), muxer


def test_a_streamed_webm_rebuilt_holds_vp8_and_opus_for_its_whole_duration_and_decodes_cleanly(tmp_path: Path) -> None:
    data, muxer = streamed_call(4.0)
    (tmp_path / "s.webm").write_bytes(data)
    facts = rebuild(tmp_path / "s.webm", tmp_path / "f.webm")
    info = probe(tmp_path / "f.webm")
    kinds = streams(info)
    assert kinds["video"]["codec_name"] == "vp8" and kinds["audio"]["codec_name"] == "opus"
    assert abs(float(info["format"]["duration"]) - 4.0) < 0.1
    assert int(kinds["video"]["nb_read_packets"]) == 60 == facts.video_frames
    assert int(kinds["audio"]["nb_read_packets"]) == 200 == facts.audio_frames
    assert decode_errors(tmp_path / "f.webm") == ""
    assert counters(tmp_path / "f.webm") == list(range(60))


@pytest.mark.parametrize("before_ms, after_ms", [(50, 33), (66, 33), (100, 16), (55, 45)])
def test_video_whose_frame_rate_rises_decodes_cleanly_once_rebuilt(tmp_path: Path, before_ms: int, after_ms: int) -> None:
    # Chromium on a loaded machine sends few frames at first, then more: the rate guessed from the
    # first frames was declared in the file, and ffmpeg's decode put two frames in one of its slots
    # ("non monotonically increasing dts")
    video = vp8_frames(120, FPS, keyframe_every=FPS)
    stamps = [i * before_ms for i in range(60)] + [60 * before_ms + i * after_ms for i in range(60)]
    muxer = WebmMuxer(video=True, audio=False, size=vp8_size(video[0][0]))
    for (data, key), at in zip(video, stamps):
        muxer.write(MediaPacket("video", data, at, key))
    (tmp_path / "s.webm").write_bytes(muxer.close())
    facts = rebuild(tmp_path / "s.webm", tmp_path / "f.webm")
    assert facts.video_frames == 120
    assert decode_errors(tmp_path / "f.webm") == ""
    assert counters(tmp_path / "f.webm") == list(range(120))


def test_the_muxer_hands_out_bytes_while_the_call_goes_on_not_only_at_the_end() -> None:
    video = vp8_frames(90, FPS)
    muxer = WebmMuxer(video=True, audio=False, size=(320, 240))
    produced_by = {}
    for i, (data, key) in enumerate(video):
        muxer.write(MediaPacket("video", data, i * 1000 // FPS, key))
        if muxer.take():
            produced_by[i] = True
    assert [i for i in produced_by if i >= 30], "clusters of about a second must come out as they close"


def test_a_stream_cut_off_mid_cluster_rebuilds_into_a_playable_prefix(tmp_path: Path) -> None:
    data, _ = streamed_call(4.0)
    (tmp_path / "cut.webm").write_bytes(data[: len(data) * 3 // 5])
    facts = rebuild(tmp_path / "cut.webm", tmp_path / "f.webm")
    assert 1.0 < facts.duration_s < 3.5
    assert decode_errors(tmp_path / "f.webm") == ""
    seen = counters(tmp_path / "f.webm")
    assert seen == list(range(len(seen))) and len(seen) == facts.video_frames


def test_nothing_readable_is_nothing_to_save(tmp_path: Path) -> None:
    (tmp_path / "junk.webm").write_bytes(b"\x1a\x45\xdf\xa3" + bytes(20))
    with pytest.raises(NothingToSave):
        rebuild(tmp_path / "junk.webm", tmp_path / "f.webm")


def test_vp8_size_reads_key_frames_only() -> None:
    video = vp8_frames(2, FPS)
    assert vp8_size(video[0][0]) == (320, 240)
    assert vp8_size(video[1][0]) is None


# --- the tap ---------------------------------------------------------------------------------------

class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def tap_for(kind: str, queue_size: int = 100) -> tuple[FakePublished, TrackTap, asyncio.Queue[Any], FakeTime]:
    published, clock = FakePublished(kind), FakeTime()
    queue: asyncio.Queue[Any] = asyncio.Queue(queue_size)
    tap = TrackTap(published, StayClock(monotonic=clock), queue)  # type: ignore[arg-type]
    tap.attach()
    return published, tap, queue, clock


def drain(queue: asyncio.Queue[Any]) -> list[MediaPacket]:
    out = []
    while not queue.empty():
        out.append(queue.get_nowait())
    return out


async def test_the_tap_asks_for_a_keyframe_at_start_and_drops_video_until_one_comes() -> None:
    published, tap, queue, clock = tap_for("video")
    assert published.keyframe_requests == 1
    published.send(b"delta", 0, False)
    published.send(b"key", 6000, True)
    clock.now += 1 / 15
    published.send(b"delta2", 12000, False)
    assert [p.data for p in drain(queue)] == [b"key", b"delta2"]
    assert tap.dropped == 1


async def test_the_tap_stamps_from_the_rtp_clock_across_its_wrap_and_starts_the_file_at_zero() -> None:
    published, _, queue, clock = tap_for("audio")
    start = (1 << 32) - 960 * 3
    for i in range(6):
        published.send(bytes([i]), start + i * 960, True)
        clock.now += 0.0201  # arrival jitter does not move the stamps
    assert [p.pts_ms for p in drain(queue)] == [0, 20, 40, 60, 80, 100]


async def test_after_a_pause_the_rtp_clock_disagrees_for_good_and_the_track_is_anchored_again_on_arrival() -> None:
    published, tap, queue, clock = tap_for("audio")
    published.send(b"a", 0, True)
    clock.now += 5.0  # five seconds without packets, and the sender's RTP clock stood still meanwhile
    for i in range(1, 60):
        published.send(bytes([i]), i * 960, True)
        clock.now += 0.02
    stamps = [p.pts_ms for p in drain(queue)]
    assert tap.reanchored == 1
    assert stamps[:3] == [0, 20, 40]  # for a second it may still be a delay on the way ...
    jump = next(i for i in range(1, len(stamps)) if stamps[i] - stamps[i - 1] > 1000)
    assert stamps[jump] - stamps[jump - 1] >= 5000 - 20  # ... then the pause is kept as a gap
    assert all(b - a == 20 for a, b in zip(stamps[jump:], stamps[jump + 1:]))


async def test_a_delay_on_the_way_then_a_burst_keeps_the_rtp_time_line() -> None:
    published, tap, queue, clock = tap_for("audio", queue_size=200)
    for i in range(50):
        published.send(bytes([i]), i * 960, True)
        clock.now += 0.02
    clock.now += 0.8  # the network (or our event loop) stalled: 40 packets arrive at once ...
    for i in range(50, 90):
        published.send(bytes([i]), i * 960, True)
    for i in range(90, 150):  # ... then on time again
        clock.now += 0.02
        published.send(bytes([i]), i * 960, True)
    assert [p.pts_ms for p in drain(queue)] == [i * 20 for i in range(150)]
    assert tap.reanchored == 0


async def test_a_lag_that_lasts_then_drains_never_moves_the_track_back() -> None:
    # a loaded machine: every packet is handled 0.8 s late for two seconds (long enough to pass for a
    # pause: the track is moved forward), then the backlog drains and packets are on time again, so
    # the RTP clock runs ahead of arrival.  Moving the track back onto arrival then would overlap what
    # is written (the muxer squeezed those frames 1 ms apart: "non monotonically increasing dts").
    published, tap, queue, clock = tap_for("audio", queue_size=1000)
    start = clock.now
    for i in range(400):
        sent = i * 0.02
        clock.now = max(clock.now, start + sent + (0.8 if 2.0 <= sent < 4.0 else 0.0))
        published.send(bytes([i % 256]), i * 960, True)
    stamps = [p.pts_ms for p in drain(queue)]
    steps = [b - a for a, b in zip(stamps, stamps[1:])]
    assert len(stamps) == 400 and tap.reanchored == 1
    assert all(step >= 20 for step in steps), sorted(steps)[:5]
    assert sorted(steps)[-1] == 820 and sorted(steps)[-2] == 20  # the lag kept as one gap, as a pause is


@pytest.mark.parametrize("leap", [-48000 * 3, -(1 << 31) + 7, 48000 * 3600, 1 << 30, 0])
async def test_a_sender_whose_rtp_clock_jumps_is_stamped_on_arrival_after_its_last_frame(leap: int) -> None:
    # a new SSRC or a restarted encoder: the RTP clock steps back, leaps ahead, or repeats itself
    published, tap, queue, clock = tap_for("audio")
    for i in range(10):
        published.send(bytes([i]), i * 960, True)
        clock.now += 0.02
    for i in range(10, 20):
        published.send(bytes([i]), leap + (i - 1 if leap == 0 else i) * 960, True)
        clock.now += 0.02
    assert [p.pts_ms for p in drain(queue)] == [i * 20 for i in range(20)]
    assert tap.restamped == 1 and tap.reanchored == 0


async def test_a_video_frame_restamped_comes_a_frame_interval_after_the_last() -> None:
    published, tap, queue, clock = tap_for("video")
    for i in range(5):
        published.send(b"k" if i == 0 else b"d", i * 3000, i == 0)  # 30 fps
    published.send(b"d", 0, False)  # the RTP clock went back, and arrival has not moved
    assert [p.pts_ms for p in drain(queue)] == [0, 33, 67, 100, 133, 166]
    assert tap.restamped == 1


async def test_a_full_queue_drops_without_waiting_records_a_gap_and_restarts_video_at_a_keyframe() -> None:
    published, tap, queue, clock = tap_for("video", queue_size=2)
    published.send(b"k0", 0, True)
    published.send(b"d1", 6000, False)
    published.send(b"d2", 12000, False)  # queue full: dropped, the file needs a keyframe now
    drain(queue)
    published.send(b"d3", 18000, False)  # cannot be decoded without d2
    published.send(b"k4", 24000, True)
    assert [p.data for p in drain(queue)] == [b"k4"]
    assert tap.gaps == 1 and published.keyframe_requests == 2


async def test_audio_and_video_of_a_stay_share_one_time_line() -> None:
    video, audio, clock = FakePublished("video"), FakePublished("audio"), FakeTime()
    stay_clock = StayClock(monotonic=clock)
    queue: asyncio.Queue[Any] = asyncio.Queue(100)
    for p in (video, audio):
        TrackTap(p, stay_clock, queue).attach()  # type: ignore[arg-type]
    audio.send(b"a0", 777, True)  # each track has its own random RTP origin
    clock.now += 0.5
    video.send(b"k", 123456, True)
    audio.send(b"a1", 777 + 24000, True)
    assert [(p.kind, p.pts_ms) for p in drain(queue)] == [("audio", 0), ("video", 500), ("audio", 500)]


@pytest.mark.parametrize("origin", [0, 1 << 31, (1 << 32) - 100])
async def test_a_tap_that_follows_a_restarted_track_stamps_it_on_arrival_after_its_last_frame(origin: int) -> None:
    """docs/signaling.md 13.12: the new track is a new RTP stream whose clock says nothing about the old one."""
    old, tap, queue, clock = tap_for("video")
    for i in range(10):
        old.send(b"k" if i == 0 else b"d", 5000 + i * 6000, i == 0)  # 15 fps
        clock.now += 1 / 15
    clock.now += 0.5  # the restart's pause
    new = FakePublished("video")
    tap.follow(new)  # type: ignore[arg-type]
    assert old.observers == [] and new.observers == [tap] and new.keyframe_requests == 1
    new.send(b"late delta", origin, False)  # a new stream must start at a keyframe
    for i in range(1, 6):
        new.send(b"k" if i == 1 else b"d", origin + i * 6000, i == 1)
        clock.now += 1 / 15
    packets = drain(queue)
    stamps = [p.pts_ms for p in packets]
    assert [p.data for p in packets[10:]] == [b"k", b"d", b"d", b"d", b"d"]
    assert stamps[:10] == [round(i * 1000 / 15) for i in range(10)]
    assert stamps[10] == round((10 / 15 + 0.5) * 1000)  # on arrival: the pause stays a gap
    assert all(66 <= b - a <= 67 for a, b in zip(stamps[10:], stamps[11:]))  # then the new RTP clock
    assert tap.restamped == 0


def published_to(writer: StayWriter) -> dict[str, FakePublished]:
    """A video and an audio track, both added to ``writer``."""
    published = {"video": FakePublished("video"), "audio": FakePublished("audio")}
    for p in published.values():
        writer.add_track(p)  # type: ignore[arg-type]
    return published


async def test_a_stay_through_a_restart_of_the_members_connection_is_one_file_that_decodes_cleanly(
        tmp_path: Path) -> None:
    blobs, clock = LocalDirectoryBlobStore(tmp_path / "store"), FakeTime()
    writer = StayWriter(blobs, "rec/5", "user-e", 1, upload_interval=0.0,  # type: ignore[arg-type]
                        clock=StayClock(monotonic=clock))
    before = published_to(writer)
    await feed(before, clock, 3.0)
    clock.now += 0.4  # the restart's pause
    after = {"video": FakePublished("video"), "audio": FakePublished("audio")}
    for kind in after:
        assert writer.continue_track(before[kind], after[kind])  # type: ignore[arg-type]
    assert not writer.continue_track(FakePublished("video"), FakePublished("video"))  # type: ignore[arg-type]
    await feed(after, clock, 3.0, start=3.0, rtp_origin=987_654_321)  # a new encoder: it starts with a keyframe
    file = await writer.finish()
    assert file is not None
    path = tmp_path / "out.webm"
    path.write_bytes(await blobs.read(file.key))
    assert decode_errors(path) == ""
    assert counters(path) == list(range(90))
    assert abs(file.duration_s - 6.4) < 0.15


# --- a stay, uploaded in chunks -------------------------------------------------------------------

async def feed(published: dict[str, FakePublished], clock: FakeTime, seconds: float, start: float = 0.0,
               rtp_origin: int = 0) -> None:
    video = vp8_frames(int(seconds * FPS), FPS, first=int(start * FPS))
    audio = opus_frames(int(seconds * 50))
    events = sorted([(i / FPS, "video", i) for i in range(len(video))] + [(i / 50, "audio", i) for i in range(len(audio))])
    base = clock.now
    for at, kind, i in events:
        clock.now = base + at
        if kind == "video":
            published["video"].send(video[i][0], rtp_origin + int((start + at) * 90000), video[i][1])
        else:
            published["audio"].send(audio[i], rtp_origin + int((start + at) * 48000), True)
        if i % 10 == 0:
            await asyncio.sleep(0)


async def test_a_stay_is_uploaded_in_chunks_as_it_goes_and_finished_into_one_checked_file(tmp_path: Path) -> None:
    blobs, clock = FlakyBlobs(LocalDirectoryBlobStore(tmp_path / "store")), FakeTime()
    writer = StayWriter(blobs, "rec/1", "user-a", 1, upload_interval=0.0,  # type: ignore[arg-type]
                        clock=StayClock(monotonic=clock))
    published = published_to(writer)
    await feed(published, clock, 4.0)
    await asyncio.sleep(0.1)
    chunks = [b.key for b in await blobs.list("rec/1/parts/user-a/001/c")]
    assert len(chunks) >= 2, "chunks go up while the stay is recorded"
    file = await writer.finish()
    assert file is not None and file.key == "rec/1/user-a-001.webm" and file.has_video and file.has_audio
    assert [b.key for b in await blobs.list("rec/1/parts/user-a/001/c")] == []
    path = tmp_path / "out.webm"
    path.write_bytes(await blobs.read(file.key))
    assert file.size == path.stat().st_size
    assert abs(float(probe(path)["format"]["duration"]) - 4.0) < 0.15 and abs(file.duration_s - 4.0) < 0.15
    assert decode_errors(path) == ""
    assert counters(path) == list(range(60))
    assert file.ended_at - file.started_at == dt.timedelta(seconds=file.duration_s)
    assert await writer.finish() == file  # idempotent
    assert await stored.finish_stay(blobs, "rec/1", "user-a", 1) == file  # recover finds it done  # type: ignore[arg-type]


async def test_chunks_that_fail_to_upload_are_retried_and_nothing_is_lost(tmp_path: Path) -> None:
    blobs, clock = FlakyBlobs(LocalDirectoryBlobStore(tmp_path / "store")), FakeTime()
    writer = StayWriter(blobs, "rec/2", "user-b", 1, upload_interval=0.0,  # type: ignore[arg-type]
                        clock=StayClock(monotonic=clock))
    published = published_to(writer)
    blobs.down = True
    await feed(published, clock, 2.0)
    await asyncio.sleep(0.3)
    blobs.down = False
    await feed(published, clock, 2.0, start=2.0)
    file = await writer.finish()
    assert file is not None
    path = tmp_path / "out.webm"
    path.write_bytes(await blobs.read(file.key))
    assert counters(path) == list(range(60)) and decode_errors(path) == ""


async def test_a_crashed_stay_is_rebuilt_from_its_uploaded_chunks(tmp_path: Path) -> None:
    blobs, clock = FlakyBlobs(LocalDirectoryBlobStore(tmp_path / "store")), FakeTime()
    writer = StayWriter(blobs, "rec/3", "user-c", 1, upload_interval=0.0,  # type: ignore[arg-type]
                        clock=StayClock(monotonic=clock))
    published = published_to(writer)
    await feed(published, clock, 4.0)
    while not writer.queue.empty():  # written (a slow machine must not make this test about load)
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)
    await writer.abandon()  # the process dies: no trailer, no finishing
    assert await stored.stays(blobs, "rec/3") == [("user-c", 1)]  # type: ignore[arg-type]
    file = await stored.finish_stay(blobs, "rec/3", "user-c", 1)  # type: ignore[arg-type]
    assert file is not None and 2.5 < file.duration_s <= 4.0
    path = tmp_path / "out.webm"
    path.write_bytes(await blobs.read(file.key))
    seen = counters(path)
    assert decode_errors(path) == "" and seen == list(range(len(seen))) and len(seen) >= 40


async def test_a_large_file_goes_up_as_multipart_with_only_the_last_part_small(tmp_path: Path) -> None:
    blobs = LocalDirectoryBlobStore(tmp_path / "store", min_part_size=1000)
    source = tmp_path / "big"
    source.write_bytes(bytes(range(256)) * 30)  # 7680 bytes: parts of 1000 with the tail folded in
    assert await stored.upload_file(blobs, "k/big", source, "video/webm") == 7680  # type: ignore[arg-type]
    assert await blobs.read("k/big") == source.read_bytes()
    assert await blobs.pending_uploads("k/") == []


async def test_a_writer_that_fails_at_the_end_still_leaves_a_file_of_what_was_uploaded(tmp_path: Path) -> None:
    blobs, clock = LocalDirectoryBlobStore(tmp_path / "store"), FakeTime()
    writer = StayWriter(blobs, "rec/5", "user-e", 1, upload_interval=0.0,  # type: ignore[arg-type]
                        clock=StayClock(monotonic=clock))
    published = published_to(writer)
    await feed(published, clock, 3.0)
    while not writer.queue.empty():
        await asyncio.sleep(0.01)
    assert writer.muxer is not None

    def broken() -> bytes:
        raise RuntimeError("the trailer could not be written")

    writer.muxer.close = broken  # type: ignore[method-assign]
    file = await writer.finish()
    assert file is not None and 1.5 < file.duration_s <= 3.0
    path = tmp_path / "out.webm"
    path.write_bytes(await blobs.read(file.key))
    assert decode_errors(path) == ""


async def test_a_stay_through_a_lasting_lag_then_a_drain_decodes_cleanly(tmp_path: Path) -> None:
    # what the browser test saw on a loaded machine: ffmpeg's decode reported "non monotonically
    # increasing dts" in a participant file
    blobs, clock = LocalDirectoryBlobStore(tmp_path / "store"), FakeTime()
    writer = StayWriter(blobs, "rec/6", "user-f", 1, upload_interval=0.0,  # type: ignore[arg-type]
                        clock=StayClock(monotonic=clock))
    published = published_to(writer)
    seconds = 6
    video, audio = vp8_frames(seconds * FPS, FPS), opus_frames(seconds * 50)
    events = sorted([(i / FPS, "video", i) for i in range(len(video))] + [(i / 50, "audio", i) for i in range(len(audio))])
    start = clock.now
    for at, kind, i in events:  # handled 0.8 s late from 1.5 s to 3.5 s, then the backlog drains
        clock.now = max(clock.now, start + at + (0.8 if 1.5 <= at < 3.5 else 0.0))
        if kind == "video":
            published["video"].send(video[i][0], int(at * 90000), video[i][1])
        else:
            published["audio"].send(audio[i], int(at * 48000), True)
        if i % 10 == 0:
            await asyncio.sleep(0)
    file = await writer.finish()
    assert file is not None
    path = tmp_path / "out.webm"
    path.write_bytes(await blobs.read(file.key))
    assert decode_errors(path) == ""
    assert counters(path) == list(range(seconds * FPS))
    assert writer.muxer is not None and writer.muxer.clamped == 0
