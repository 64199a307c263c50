"""AiortcRoomRecorder over a stand-in SFU (rooms of members whose tracks send synthetic encoded frames):
the RoomRecorder contract, and what is particular to it (a return starts at a keyframe, damaged chunks
and cut-off final uploads at recovery)."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from adapters.webrtc.recorder import AiortcRoomRecorder
from confero_contracts.recording_media import RoomRecorderContract
from adapters.localfs.blobs import LocalDirectoryBlobStore
from tests.support.blobs import FlakyBlobs
from tests.support.encoded import FakePublished, counters, opus_frames, require_ffmpeg, vp8_frames

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


class Sender:
    """One member's media, in real time (the recorder stamps frames on arrival); counters go on across
    calls."""

    def __init__(self, tracks: dict[str, FakePublished]) -> None:
        self.tracks = tracks
        self.audio = 0
        self.video = 0

    async def send(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        begin = loop.time()
        for i in range(int(seconds * 50)):
            await asyncio.sleep(max(0.0, begin + i * 0.02 - loop.time()))
            self.tracks["audio"].send(AUDIO[self.audio % len(AUDIO)], self.audio * 960, True)
            self.audio += 1
            while self.video * 50 <= self.audio * FPS:  # 15 fps against 50 audio packets per second
                data, key = VIDEO[self.video % len(VIDEO)]
                self.tracks["video"].send(data, self.video * 6000, key)
                self.video += 1


class FakeSfuHarness:
    """The contract's harness for AiortcRoomRecorder: a stand-in SFU whose members send PyAV-encoded VP8
    (counters drawn in) and Opus; a directory blob store that can be taken down."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = FlakyBlobs(LocalDirectoryBlobStore(root / "store"))
        self.sfu = FakeSfu()
        self.recorder = AiortcRoomRecorder(self.sfu, self.blobs, upload_interval=0.5)  # type: ignore[arg-type]

    async def join(self, room: str, user: str) -> Sender:
        return Sender(self.sfu.join(room, user))

    async def leave(self, room: str, user: str) -> None:
        self.sfu.leave(room, user)

    async def restarted(self) -> AiortcRoomRecorder:
        await self.recorder.close()
        self.sfu = FakeSfu()
        self.recorder = AiortcRoomRecorder(self.sfu, self.blobs, upload_interval=0.5)  # type: ignore[arg-type]
        return self.recorder

    def store_reachable(self, reachable: bool) -> None:
        self.blobs.down = not reachable

    def frames(self, data: bytes) -> list[int]:
        with tempfile.NamedTemporaryFile(suffix=".webm", dir=self.root) as f:
            f.write(data)
            f.flush()
            return counters(Path(f.name))


class TestAiortcRoomRecorder(RoomRecorderContract):
    @pytest.fixture
    async def harness(self, tmp_path: Path) -> Any:
        harness = FakeSfuHarness(tmp_path)
        yield harness
        await harness.recorder.close()


@pytest.fixture
async def harness(tmp_path: Path) -> Any:
    harness = FakeSfuHarness(tmp_path)
    yield harness
    await harness.recorder.close()


async def test_a_returning_member_starts_at_a_keyframe_and_counts_on(harness: FakeSfuHarness) -> None:
    await harness.recorder.start("rec-2", ROOM, "recordings/rec-2")  # type: ignore[arg-type]
    sender = await harness.join(ROOM, "ann")
    await sender.send(1.0)
    await harness.leave(ROOM, "ann")
    again = await harness.join(ROOM, "ann")
    again.audio, again.video = sender.audio, sender.video  # the member's encoder goes on, mid-GOP
    await again.send(1.0)
    files = await harness.recorder.stop("rec-2")  # type: ignore[arg-type]
    first = harness.frames(await harness.blobs.read(files[1].key))[0]
    assert first >= sender.video and first % 15 == 0  # the first keyframe sent after the return


async def test_recover_leaves_out_what_is_damaged_and_aborts_cut_off_final_uploads(harness: FakeSfuHarness) -> None:
    blobs = harness.blobs
    await harness.recorder.start("rec-4", ROOM, "recordings/rec-4")  # type: ignore[arg-type]
    ann, bob = await harness.join(ROOM, "ann"), await harness.join(ROOM, "bob")
    await asyncio.gather(ann.send(2.0), bob.send(2.0))
    await asyncio.sleep(0.6)
    recorder = await harness.restarted()  # like a crash: nothing finished
    for info in await blobs.list("recordings/rec-4/parts/bob/"):  # bob's chunks were damaged
        if "/c" in info.key:
            await blobs.put(info.key, b"\x00garbage" * 10, "video/webm")
    upload = await blobs.start_upload("recordings/rec-4/ann-001.webm", "video/webm")  # a cut-off final upload
    await blobs.upload_part("recordings/rec-4/ann-001.webm", upload, 1, b"partial")
    files = await recorder.recover("rec-4", "recordings/rec-4")  # type: ignore[arg-type]
    # what was uploaded: all but the open cluster (<= 1 s) and the interval since the last upload
    assert [f.user_id for f in files] == ["ann"] and 0.5 < files[0].duration_s <= 2.1
    assert await blobs.pending_uploads("recordings/rec-4/") == []
    assert await recorder.recover("rec-4", "recordings/rec-4") == files  # type: ignore[arg-type]


async def test_a_screen_share_is_not_mixed_into_the_members_camera_recording(harness: FakeSfuHarness) -> None:
    await harness.recorder.start("rec-3", ROOM, "recordings/rec-3")  # type: ignore[arg-type]
    sender = await harness.join(ROOM, "ann")
    screen = FakePublished("video")
    screen.label = "screen"  # the SFU's name for a member's second video section (docs/signaling.md 13.7)
    for watcher in harness.sfu.watchers:
        watcher.track_published(ROOM, "ann", screen)
    taps = harness.recorder._recordings["rec-3"].open["ann"].taps  # type: ignore[index]
    assert sorted(t.published.label for t in taps) == ["audio", "video"]
    await sender.send(0.5)
    assert len(await harness.recorder.stop("rec-3")) == 1  # type: ignore[arg-type]


async def test_a_member_who_restarts_its_connection_goes_on_in_the_same_file(harness: FakeSfuHarness) -> None:
    """docs/signaling.md 13.12: the SFU tells its watchers that each new track continues an old one."""
    await harness.recorder.start("rec-5", ROOM, "recordings/rec-5")  # type: ignore[arg-type]
    sender = await harness.join(ROOM, "ann")
    await sender.send(1.0)
    old = sender.tracks
    new = {"audio": FakePublished("audio"), "video": FakePublished("video")}
    harness.sfu.rooms[ROOM].peers["ann"] = SimpleNamespace(published=new)
    for kind in ("audio", "video"):
        for watcher in harness.sfu.watchers:
            watcher.track_continued(ROOM, "ann", old[kind], new[kind])
    again = Sender(new)
    again.audio, again.video = sender.audio + 5, sender.video + 2  # frames lost in the restart, mid-GOP
    await again.send(1.0)
    assert old["audio"].observers == old["video"].observers == []
    files = await harness.recorder.stop("rec-5")  # type: ignore[arg-type]
    assert [f.user_id for f in files] == ["ann"]
    seen = harness.frames(await harness.blobs.read(files[0].key))
    assert seen == sorted(seen) and seen[0] < sender.video
    after = [c for c in seen if c >= sender.video]
    assert after and after[0] % 15 == 0  # the new stream starts at a keyframe
