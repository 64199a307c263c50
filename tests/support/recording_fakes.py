"""In-test stand-ins for the media server's recorder and processor (the real ones are the rec-media
stream's, in adapters/webrtc/): they write small objects to the blob store so links and deletes have
something to act on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence

from domain.recordings.errors import ProcessingFailed, RecordingConflict
from domain.recordings.media import RecordedFile
from domain.shared.errors import DomainError
from domain.shared.ids import MeetingId, RecordingId, UserId
from ports.blobs import BlobStore

T = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)


def a_file(key: str, user: UserId | None, size: int = 5) -> RecordedFile:
    return RecordedFile(key=key, user_id=user, content_type="video/webm", size=size, duration_s=2.5, started_at=T,
                        ended_at=T + dt.timedelta(seconds=2.5), has_video=True, has_audio=True)


class FakeRoomRecorder:
    def __init__(self, blobs: BlobStore, people: Sequence[UserId] = (UserId("00000000-0000-4000-8000-00000000a11c"),
                                                                UserId("00000000-0000-4000-8000-000000000b0b"))) -> None:
        self.blobs = blobs
        self.people = list(people)
        self.running: dict[RecordingId, tuple[MeetingId, str]] = {}
        self.fail_start: DomainError | None = None
        self.fail_stop: DomainError | None = None
        self.fail_recover: DomainError | None = None
        self.recoverable: dict[RecordingId, list[RecordedFile]] = {}
        self.stops = 0

    async def start(self, recording_id: RecordingId, room_id: MeetingId, key_prefix: str) -> None:
        if self.fail_start is not None:
            raise self.fail_start
        if any(room == room_id for room, _ in self.running.values()):
            raise RecordingConflict("the room is being recorded")
        self.running[recording_id] = (room_id, key_prefix)

    async def stop(self, recording_id: RecordingId) -> list[RecordedFile]:
        self.stops += 1
        if self.fail_stop is not None:
            raise self.fail_stop
        found = self.running.pop(recording_id, None)
        if found is None:
            return []
        files = []
        for user in self.people:
            key = f"{found[1]}/{user}-1.webm"
            data = b"webm-" + user.encode()
            await self.blobs.put(key, data, "video/webm")
            files.append(a_file(key, user, size=len(data)))
        return files

    async def recover(self, recording_id: RecordingId, key_prefix: str) -> list[RecordedFile]:
        if self.fail_recover is not None:
            raise self.fail_recover
        return self.recoverable.get(recording_id, [])

    async def recording(self) -> list[RecordingId]:
        return list(self.running)


class FakeProcessor:
    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs
        self.fail: Exception | None = None
        self.fail_times = 0  # raise ``fail`` this many times, then work (0: always)
        self.reported: list[float] = []
        self.calls = 0

    async def compose(self, files: Sequence[RecordedFile], out_key: str,
                      progress: Callable[[float], Awaitable[None]]) -> RecordedFile:
        for fraction in (0.25, 0.5, 0.75):
            self.reported.append(fraction)
            await progress(fraction)
        self.calls += 1
        if self.fail is not None and (self.fail_times == 0 or self.calls <= self.fail_times):
            raise self.fail
        await self.blobs.put(out_key, b"meeting", "video/webm")
        return a_file(out_key, None, size=7)


def processing_fails(reason: str) -> ProcessingFailed:
    return ProcessingFailed(reason)
