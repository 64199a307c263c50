"""AiortcRoomRecorder's rules over a stand-in SFU (rooms of members whose tracks send synthetic encoded
frames): who is recorded from when, a departure finishes that member's file at once, conflicts,
stop and recover."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from adapters.webrtc.recorder import AiortcRoomRecorder
from domain.recordings.errors import RecordingConflict
from domain.shared.errors import Unavailable
from adapters.localfs.blobs import LocalDirectoryBlobStore
from tests.support.blobs import FlakyBlobs
from tests.support.encoded import counters, opus_frames, require_ffmpeg, vp8_frames
from tests.unit.test_recording_media import FakePublished

ROOM, OTHER_ROOM = "room-1", "room-2"
FPS = 15


@pytest.fixture(autouse=True)
def _ffmpeg() -> None:
    require_ffmpeg()


class FakeSfu:
    """What the recorder reads of AiortcMediaServer: rooms of peers with published tracks, watchers."""

    def __init__(self) -> None:
        self.rooms: dict[str, Any] = {}
        self.watchers: list[Any] = []

    def join(self, room: str, user: str) -> dict[str, FakePublished]:
        tracks = {"audio": FakePublished("audio"), "video": FakePublished("video")}
        self.rooms.setdefault(room, SimpleNamespace(peers={})).peers[user] = SimpleNamespace(published=tracks)
        for kind in ("audio", "video"):
            for watcher in self.watchers:
                watcher.track_published(room, user, tracks[kind])
        return tracks

    def leave(self, room: str, user: str) -> None:
        del self.rooms[room].peers[user]
        for watcher in self.watchers:
            watcher.member_left(room, user)


VIDEO = vp8_frames(3 * FPS, FPS, keyframe_every=FPS)
AUDIO = opus_frames(150)


async def send(tracks: dict[str, FakePublished], seconds: float, start: int = 0) -> None:
    """``seconds`` of media in real time (the recorder stamps frames on arrival)."""
    loop = asyncio.get_running_loop()
    begin = loop.time()
    sent_video = 0
    for i in range(int(seconds * 50)):
        await asyncio.sleep(max(0.0, begin + i * 0.02 - loop.time()))
        tracks["audio"].send(AUDIO[(start * 50 + i) % len(AUDIO)], (start * 50 + i) * 960, True)
        while sent_video * 50 <= i * FPS:  # 15 fps against 50 audio packets per second
            n = start * FPS + sent_video
            data, key = VIDEO[n % len(VIDEO)]
            tracks["video"].send(data, n * 6000, key)
            sent_video += 1


@pytest.fixture
def sfu() -> FakeSfu:
    return FakeSfu()


@pytest.fixture
def blobs(tmp_path: Path) -> FlakyBlobs:
    return FlakyBlobs(LocalDirectoryBlobStore(tmp_path / "store"))


def recorder_for(sfu: FakeSfu, blobs: FlakyBlobs) -> AiortcRoomRecorder:
    return AiortcRoomRecorder(sfu, blobs, upload_interval=0.5)  # type: ignore[arg-type]


async def test_members_present_and_members_joining_later_each_get_one_file_from_their_first_frame(
        sfu: FakeSfu, blobs: FlakyBlobs) -> None:
    ann = sfu.join(ROOM, "ann")
    recorder = recorder_for(sfu, blobs)
    await recorder.start("rec-1", ROOM, "recordings/rec-1")  # type: ignore[arg-type]
    assert await recorder.recording() == ["rec-1"]
    sending = asyncio.ensure_future(send(ann, 2.0))
    await asyncio.sleep(1.0)
    bob = sfu.join(ROOM, "bob")
    await asyncio.gather(sending, send(bob, 1.0))
    files = await recorder.stop("rec-1")  # type: ignore[arg-type]
    assert [f.user_id for f in files] == ["ann", "bob"]
    assert abs(files[0].duration_s - 2.0) < 0.2 and abs(files[1].duration_s - 1.0) < 0.2
    assert files[1].started_at > files[0].started_at
    assert all(f.has_audio and f.has_video and f.key.startswith("recordings/rec-1/") for f in files)
    assert await recorder.recording() == []
    assert await recorder.stop("rec-1") == []  # type: ignore[arg-type]


async def test_a_member_who_leaves_has_the_file_finished_then_and_a_return_is_a_new_file(
        sfu: FakeSfu, blobs: FlakyBlobs, tmp_path: Path) -> None:
    recorder = recorder_for(sfu, blobs)
    await recorder.start("rec-2", ROOM, "recordings/rec-2")  # type: ignore[arg-type]
    ann = sfu.join(ROOM, "ann")
    await send(ann, 1.0)
    sfu.leave(ROOM, "ann")
    for _ in range(100):  # finished in the background, without waiting for stop
        if [b for b in await blobs.list("recordings/rec-2/") if b.key.endswith(".webm")]:
            break
        await asyncio.sleep(0.05)
    assert [b.key for b in await blobs.list("recordings/rec-2/") if b.key.endswith(".webm")] == [
        "recordings/rec-2/ann-001.webm"]
    ann = sfu.join(ROOM, "ann")
    await send(ann, 1.0, start=1)
    await asyncio.sleep(0.3)  # no media: the file ends at the last frame
    files = await recorder.stop("rec-2")  # type: ignore[arg-type]
    assert [f.key for f in files] == ["recordings/rec-2/ann-001.webm", "recordings/rec-2/ann-002.webm"]
    assert all(abs(f.duration_s - 1.0) < 0.2 for f in files)
    path = tmp_path / "second.webm"
    path.write_bytes(await blobs.read(files[1].key))
    assert counters(path)[0] == 15  # its first keyframe


async def test_one_recording_per_room_even_when_two_starts_race(sfu: FakeSfu, blobs: FlakyBlobs) -> None:
    recorder = recorder_for(sfu, blobs)
    outcomes = await asyncio.gather(recorder.start("a", ROOM, "recordings/a"),  # type: ignore[arg-type]
                                    recorder.start("b", ROOM, "recordings/b"),  # type: ignore[arg-type]
                                    return_exceptions=True)
    assert sorted(type(o).__name__ for o in outcomes) == ["NoneType", "RecordingConflict"]
    await recorder.start("c", OTHER_ROOM, "recordings/c")  # type: ignore[arg-type]
    with pytest.raises(RecordingConflict):
        await recorder.start("c", "room-3", "recordings/c")  # type: ignore[arg-type]


async def test_an_unreachable_store_at_start_is_unavailable_and_leaves_nothing_running(
        sfu: FakeSfu, blobs: FlakyBlobs) -> None:
    recorder = recorder_for(sfu, blobs)
    blobs.down = True
    with pytest.raises(Unavailable):
        await recorder.start("rec-3", ROOM, "recordings/rec-3")  # type: ignore[arg-type]
    assert await recorder.recording() == []
    blobs.down = False
    await recorder.start("rec-3", ROOM, "recordings/rec-3")  # type: ignore[arg-type]


async def test_recover_finishes_what_a_dead_recorder_left_and_leaves_out_what_is_damaged(
        sfu: FakeSfu, blobs: FlakyBlobs) -> None:
    dead = recorder_for(sfu, blobs)
    await dead.start("rec-4", ROOM, "recordings/rec-4")  # type: ignore[arg-type]
    ann, bob = sfu.join(ROOM, "ann"), sfu.join(ROOM, "bob")
    await asyncio.gather(send(ann, 2.0), send(bob, 2.0))
    await asyncio.sleep(0.6)
    await dead.close()  # like a crash: nothing finished
    for info in await blobs.list("recordings/rec-4/parts/bob/"):  # bob's chunks were damaged
        if "/c" in info.key:
            await blobs.put(info.key, b"\x00garbage" * 10, "video/webm")
    upload = await blobs.start_upload("recordings/rec-4/ann-001.webm", "video/webm")  # a cut-off final upload
    await blobs.upload_part("recordings/rec-4/ann-001.webm", upload, 1, b"partial")
    files = await recorder_for(FakeSfu(), blobs).recover("rec-4", "recordings/rec-4")  # type: ignore[arg-type]
    # what was uploaded: all but the open cluster (<= 1 s) and the interval since the last upload
    assert [f.user_id for f in files] == ["ann"] and 0.5 < files[0].duration_s <= 2.1
    assert await blobs.pending_uploads("recordings/rec-4/") == []
    assert await recorder_for(FakeSfu(), blobs).recover("rec-4", "recordings/rec-4") == files  # type: ignore[arg-type]
