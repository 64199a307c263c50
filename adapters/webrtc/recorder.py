"""``AiortcRoomRecorder``: the RoomRecorder port (ports/recording_media.py) on the aiortc SFU.

It watches the SFU (``AiortcMediaServer.watchers``): a member's published tracks open (or join) that
member's current stay in every recording of the room; the member's departure finishes the stay at
once (leave, kick, failed connection, meeting end).  A member who publishes again (a new
connection) gets a new stay, hence a new file; one who restarts its connection in place (an ICE
restart, docs/signaling.md 13.12) keeps its stay: its new tracks go on in the same file, after a gap.
Files are laid out as ``adapters.webm.stored`` says.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging

from attrs import define, field

from adapters.webm import stored
from adapters.webrtc.forwarding import PublishedTrack
from adapters.webrtc.sfu import AiortcMediaServer
from adapters.webrtc.stay_writer import StayWriter
from domain.recordings.errors import RecordingConflict
from domain.recordings.media import RecordedFile
from domain.shared.errors import Unavailable
from domain.shared.ids import MeetingId, RecordingId, UserId
from ports.blobs import BlobStore

log = logging.getLogger(__name__)


@define
class _Recording:
    recording_id: RecordingId
    room_id: MeetingId
    key_prefix: str
    open: dict[UserId, StayWriter] = field(factory=dict)
    stays: dict[UserId, int] = field(factory=dict)
    finishing: set[asyncio.Task[RecordedFile | None]] = field(factory=set)
    files: list[RecordedFile] = field(factory=list)


class AiortcRoomRecorder:
    def __init__(self, media: AiortcMediaServer, blobs: BlobStore, *, upload_interval: float = 2.0,
                 finish_timeout: float = 30.0) -> None:
        self.media = media
        self.blobs = blobs
        self.upload_interval = upload_interval
        self.finish_timeout = finish_timeout
        self._recordings: dict[RecordingId, _Recording] = {}
        media.watchers.append(self)

    # -- the port ----------------------------------------------------------------------------------

    async def start(self, recording_id: RecordingId, room_id: MeetingId, key_prefix: str) -> None:
        for other in self._recordings.values():
            if other.room_id == room_id:
                raise RecordingConflict(recording_id=other.recording_id)
        if recording_id in self._recordings:
            raise RecordingConflict(recording_id=recording_id)
        recording = _Recording(recording_id, room_id, key_prefix.rstrip("/"))
        self._recordings[recording_id] = recording  # before the await: a second start conflicts
        try:  # proves the store reachable, and tells a later recover what was running
            await self.blobs.put(f"{recording.key_prefix}/{stored.PARTS}/recording.json", json.dumps({
                "recording_id": recording_id, "room_id": room_id,
                "started_at": dt.datetime.now(dt.timezone.utc).isoformat()}).encode(), stored.JSON)
        except BaseException:
            del self._recordings[recording_id]
            for writer in recording.open.values():  # members who published during the await
                await writer.abandon()
            raise
        room = self.media.rooms.get(room_id)
        if room is not None:
            for user_id, peer in list(room.peers.items()):
                for track in list(peer.published.values()):
                    self._add(recording, user_id, track)

    async def stop(self, recording_id: RecordingId) -> list[RecordedFile]:
        recording = self._recordings.get(recording_id)
        if recording is None:
            return []
        for user_id in list(recording.open):
            self._finish(recording, user_id)
        while recording.finishing:
            await asyncio.gather(*list(recording.finishing), return_exceptions=True)
        self._recordings.pop(recording_id, None)
        return sorted(recording.files, key=lambda f: (f.started_at, f.key))

    async def recover(self, recording_id: RecordingId, key_prefix: str) -> list[RecordedFile]:
        prefix = key_prefix.rstrip("/")
        for upload in await self.blobs.pending_uploads(prefix + "/"):
            # a finished file cut off while going up: it is made again from the chunks below
            await self.blobs.abort_upload(upload.key, upload.upload_id)
        files = []
        for user_id, stay in await stored.stays(self.blobs, prefix):
            try:
                file = await stored.finish_stay(self.blobs, prefix, user_id, stay)
            except Unavailable:
                raise
            except Exception:  # damaged data is left out, never raised
                log.exception("recording: a stay could not be recovered",
                              extra={"recording_id": recording_id, "user_id": user_id, "stay": stay})
                continue
            if file is not None:
                files.append(file)
        return sorted(files, key=lambda f: (f.started_at, f.key))

    async def recording(self) -> list[RecordingId]:
        return list(self._recordings)

    def stats(self) -> dict[str, int]:
        """Counters over the open stays (for logs and tests): frames queued, dropped and gaps."""
        taps = [t for r in self._recordings.values() for w in r.open.values() for t in w.taps]
        return {"open_stays": sum(len(r.open) for r in self._recordings.values()),
                "frames": sum(t.frames for t in taps), "dropped": sum(t.dropped for t in taps),
                "gaps": sum(t.gaps for t in taps)}

    async def close(self) -> None:
        """Process shutdown: stop writing; what was uploaded stays for ``recover``."""
        for recording in self._recordings.values():
            for writer in recording.open.values():
                await writer.abandon()
        self._recordings.clear()
        if self in self.media.watchers:
            self.media.watchers.remove(self)

    # -- the SFU's side ----------------------------------------------------------------------------

    def track_published(self, room_id: MeetingId, user_id: UserId, track: PublishedTrack) -> None:
        for recording in list(self._recordings.values()):
            if recording.room_id == room_id:
                self._add(recording, user_id, track)

    def member_left(self, room_id: MeetingId, user_id: UserId) -> None:
        for recording in list(self._recordings.values()):
            if recording.room_id == room_id and user_id in recording.open:
                self._finish(recording, user_id)

    def track_continued(self, room_id: MeetingId, user_id: UserId, previous: PublishedTrack,
                        track: PublishedTrack) -> None:
        for recording in list(self._recordings.values()):
            if recording.room_id != room_id:
                continue
            writer = recording.open.get(user_id)
            if writer is None or not writer.continue_track(previous, track):
                self._add(recording, user_id, track)

    def _add(self, recording: _Recording, user_id: UserId, track: PublishedTrack) -> None:
        if track.label == "screen":
            return  # v1 records each member's camera and microphone; a screen share is a second video
        writer = recording.open.get(user_id)
        if writer is None:
            stay = recording.stays[user_id] = recording.stays.get(user_id, 0) + 1
            writer = recording.open[user_id] = StayWriter(
                self.blobs, recording.key_prefix, user_id, stay, upload_interval=self.upload_interval,
                finish_timeout=self.finish_timeout)
        writer.add_track(track)

    def _finish(self, recording: _Recording, user_id: UserId) -> None:
        writer = recording.open.pop(user_id)
        task = asyncio.ensure_future(self._finished(recording, writer))
        recording.finishing.add(task)
        task.add_done_callback(recording.finishing.discard)

    async def _finished(self, recording: _Recording, writer: StayWriter) -> RecordedFile | None:
        try:
            file = await writer.finish()
        except Exception:
            log.exception("recording: a stay could not be finished; recover may still save it",
                          extra={"recording_id": recording.recording_id, "user_id": writer.user_id})
            return None
        if file is not None:
            recording.files.append(file)
        return file
