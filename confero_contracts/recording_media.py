"""RoomRecorder and RecordingProcessor contracts (ports/recording_media.py).

``RoomRecorderContract`` needs a ``harness``: the recorder under test together with the media server
it taps, and a way to make members publish into its rooms:

- ``harness.recorder``: the RoomRecorder; ``harness.blobs``: the BlobStore it writes to;
- ``harness.join(room_id, user_id)``: the member connects and publishes audio and video; returns an
  object whose ``await send(seconds)`` delivers that much media in real time (VP8 video with a frame
  counter the harness can read back, Opus audio);
- ``harness.leave(room_id, user_id)``: the member leaves (the media server removes it);
- ``harness.restarted()``: a new recorder over the same blob store, as after a crash of the process;
  the old one stops writing at once and finishes nothing (``harness.recorder`` becomes the new one);
- ``harness.store_reachable(bool)``: make the blob store unreachable (every write raises Unavailable);
- ``harness.frames(data: bytes) -> list[int]``: the counters of the video frames of a finished file.

``RecordingProcessorContract`` needs ``processor`` and the ``blobs`` it reads and writes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import fractions
import io
from collections.abc import Sequence

import pytest

from domain.recordings.errors import ProcessingFailed, RecordingConflict
from domain.recordings.media import RecordedFile
from domain.shared.errors import Unavailable
from domain.shared.ids import MeetingId, RecordingId, UserId, new_id


def _ids() -> tuple[RecordingId, MeetingId, str]:
    recording, room = RecordingId(new_id()), MeetingId(new_id())
    return recording, room, f"recordings/{room}/{recording}"


def _user(name: str) -> UserId:
    return UserId(f"{name}-{new_id()[:8]}")


class RoomRecorderContract:
    @pytest.fixture
    async def harness(self):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    async def test_members_present_and_members_joining_later_each_get_one_file_from_their_first_frame(self, harness):
        recording, room, prefix = _ids()
        ann, bob = _user("ann"), _user("bob")
        ann_media = await harness.join(room, ann)
        await harness.recorder.start(recording, room, prefix)
        assert await harness.recorder.recording() == [recording]
        sending = asyncio.ensure_future(ann_media.send(2.0))
        await asyncio.sleep(1.0)
        bob_media = await harness.join(room, bob)
        await asyncio.gather(sending, bob_media.send(1.0))
        files = await harness.recorder.stop(recording)
        assert [f.user_id for f in files] == [ann, bob]
        assert abs(files[0].duration_s - 2.0) < 0.25 and abs(files[1].duration_s - 1.0) < 0.25
        assert files[1].started_at > files[0].started_at
        for f in files:
            assert f.key.startswith(prefix + "/") and f.content_type == "video/webm" and f.has_audio and f.has_video
            data = await harness.blobs.read(f.key)
            assert len(data) == f.size
            seen = harness.frames(data)
            assert seen and all(b > a for a, b in zip(seen, seen[1:]))
            assert f.ended_at - f.started_at == dt.timedelta(seconds=f.duration_s)
        assert await harness.recorder.recording() == []

    async def test_stop_is_idempotent_and_an_unknown_recording_has_no_files(self, harness):
        recording, room, prefix = _ids()
        member = await harness.join(room, _user("ann"))
        await harness.recorder.start(recording, room, prefix)
        await member.send(0.5)
        assert len(await harness.recorder.stop(recording)) == 1
        assert await harness.recorder.stop(recording) == []
        assert await harness.recorder.stop(RecordingId(new_id())) == []

    async def test_a_member_who_leaves_has_the_file_finished_then_and_a_return_is_a_new_file(self, harness):
        recording, room, prefix = _ids()
        ann = _user("ann")
        await harness.recorder.start(recording, room, prefix)
        await (await harness.join(room, ann)).send(1.0)
        await harness.leave(room, ann)
        for _ in range(200):  # finished at the departure, without waiting for stop
            if [b for b in await harness.blobs.list(prefix + "/") if b.key.endswith(".webm")]:
                break
            await asyncio.sleep(0.05)
        [first] = [b.key for b in await harness.blobs.list(prefix + "/") if b.key.endswith(".webm")]
        await (await harness.join(room, ann)).send(1.0)
        files = await harness.recorder.stop(recording)
        assert [f.user_id for f in files] == [ann, ann] and files[0].key == first and files[1].key != first
        assert all(abs(f.duration_s - 1.0) < 0.25 for f in files)

    async def test_one_recording_per_room_even_when_two_starts_race(self, harness):
        (one, room, prefix), (two, _, other_prefix) = _ids(), _ids()
        outcomes = await asyncio.gather(harness.recorder.start(one, room, prefix),
                                        harness.recorder.start(two, room, other_prefix), return_exceptions=True)
        assert sorted(type(o).__name__ for o in outcomes) == ["NoneType", "RecordingConflict"]
        with pytest.raises(RecordingConflict):
            await harness.recorder.start(RecordingId(new_id()), room, other_prefix)
        recording, other_room, third = _ids()
        await harness.recorder.start(recording, other_room, third)  # another room records at the same time
        assert len(await harness.recorder.recording()) == 2

    async def test_an_unreachable_store_at_start_is_unavailable_and_nothing_runs(self, harness):
        recording, room, prefix = _ids()
        harness.store_reachable(False)
        with pytest.raises(Unavailable):
            await harness.recorder.start(recording, room, prefix)
        harness.store_reachable(True)
        assert await harness.recorder.recording() == []
        await harness.recorder.start(recording, room, prefix)

    async def test_recover_makes_playable_files_of_what_a_crashed_recorder_uploaded(self, harness):
        recording, room, prefix = _ids()
        ann, bob = _user("ann"), _user("bob")
        await harness.recorder.start(recording, room, prefix)
        media = [await harness.join(room, ann), await harness.join(room, bob)]
        await asyncio.gather(*(m.send(3.0) for m in media))
        await asyncio.sleep(0.5)
        recorder = await harness.restarted()
        assert await recorder.recording() == []
        files = await recorder.recover(recording, prefix)
        assert sorted(f.user_id for f in files) == sorted([ann, bob])
        for f in files:
            assert 0.5 < f.duration_s <= 3.1  # at most the upload interval and a cluster were lost
            seen = harness.frames(await harness.blobs.read(f.key))
            assert seen and all(b > a for a, b in zip(seen, seen[1:]))
        assert await recorder.recover(recording, prefix) == files  # idempotent
        assert await recorder.recover(RecordingId(new_id()), f"recordings/{new_id()}/none") == []


# --- the processor ------------------------------------------------------------------------------------

T0 = dt.datetime(2030, 1, 7, 9, 0, tzinfo=dt.timezone.utc)


def _participant_webm(seconds: float, fps: int = 15) -> bytes:
    """A small VP8 + Opus WebM, encoded here (not by the adapter under test)."""
    import av

    out = io.BytesIO()
    with av.open(out, "w", format="webm") as container:
        video = container.add_stream("libvpx", rate=fps)
        video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
        audio = container.add_stream("libopus", rate=48000)
        for i in range(int(seconds * fps)):
            frame = av.VideoFrame(320, 240, "yuv420p")
            for plane in frame.planes:
                plane.update(bytes([(i * 8) % 256]) * plane.buffer_size)
            frame.pts, frame.time_base = i, fractions.Fraction(1, fps)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        for i in range(int(seconds * 50)):
            frame = av.AudioFrame(format="s16", layout="stereo", samples=960)
            frame.sample_rate = 48000
            frame.planes[0].update(bytes(frame.planes[0].buffer_size))
            frame.pts, frame.time_base = i * 960, fractions.Fraction(1, 48000)
            container.mux(audio.encode(frame))
        container.mux(audio.encode(None))
    return out.getvalue()


def _duration(data: bytes) -> float:
    import av

    with av.open(io.BytesIO(data)) as container:
        return float(container.duration or 0) / 1e6


class RecordingProcessorContract:
    @pytest.fixture
    async def processor(self):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    @pytest.fixture
    async def blobs(self):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    async def _file(self, blobs, prefix: str, name: str, offset: float, seconds: float) -> RecordedFile:
        data = _participant_webm(seconds)
        key = f"{prefix}/{name}.webm"
        await blobs.put(key, data, "video/webm")
        start = T0 + dt.timedelta(seconds=offset)
        return RecordedFile(key=key, user_id=UserId(name), content_type="video/webm", size=len(data),
                            duration_s=seconds, started_at=start, ended_at=start + dt.timedelta(seconds=seconds),
                            has_video=True, has_audio=True)

    async def test_the_stays_become_one_meeting_file_as_long_as_the_meeting_with_progress_to_one(
            self, processor, blobs):
        prefix = f"recordings/{new_id()}"
        files: Sequence[RecordedFile] = [await self._file(blobs, prefix, "a", 0.0, 3.0),
                                         await self._file(blobs, prefix, "b", 1.0, 3.0),
                                         await self._file(blobs, prefix, "c", 0.5, 1.0)]
        seen: list[float] = []

        async def progress(fraction: float) -> None:
            seen.append(fraction)

        result = await processor.compose(files, f"{prefix}/meeting.webm", progress)
        data = await blobs.read(f"{prefix}/meeting.webm")
        assert (result.key, result.user_id, result.size) == (f"{prefix}/meeting.webm", None, len(data))
        assert result.has_video and result.has_audio and result.started_at == T0
        assert abs(_duration(data) - 4.0) < 0.3 and abs(result.duration_s - 4.0) < 0.3
        assert seen and seen == sorted(seen) and seen[-1] == 1.0 and all(0.0 <= f <= 1.0 for f in seen)

    async def test_nothing_to_combine_fails_with_a_reason(self, processor, blobs):
        async def progress(fraction: float) -> None: ...

        with pytest.raises(ProcessingFailed):
            await processor.compose([], f"recordings/{new_id()}/meeting.webm", progress)

    async def test_a_damaged_input_fails_with_a_reason_naming_it(self, processor, blobs):
        prefix = f"recordings/{new_id()}"
        await blobs.put(f"{prefix}/bad.webm", b"not a webm at all" * 10, "video/webm")
        bad = RecordedFile(key=f"{prefix}/bad.webm", user_id=UserId("x"), content_type="video/webm", size=170,
                           duration_s=1.0, started_at=T0, ended_at=T0, has_video=True, has_audio=False)

        async def progress(fraction: float) -> None: ...

        with pytest.raises(ProcessingFailed, match="bad.webm"):
            await processor.compose([bad], f"{prefix}/meeting.webm", progress)
