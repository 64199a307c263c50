"""RecordingFiles over the recordings context of this process: the recording repository (through a unit
of work, so the meeting is read from the same store) for which files exist, the blob store for their
bytes, and the recordings' own visibility rule (domain/recordings/access.py)."""

from __future__ import annotations

from domain.analysis.errors import InputTooLarge, RecordingFileNotFound
from domain.recordings.access import may_see, meeting_or_none
from domain.recordings.errors import RecordingNotFound
from domain.recordings.media import RecordedFile
from domain.recordings.model import Recording, RecordingState
from domain.shared.actor import Actor
from domain.shared.ids import RecordingId
from ports.analysis import RecordingFileRef
from ports.blobs import BlobStore
from ports.uow import UnitOfWorkFactory

# Files are final once the recording lists them, but a recording that failed may list files whose
# upload was cut short: only these states offer their files to analysis.
READABLE = (RecordingState.PROCESSING, RecordingState.COMPLETED)


class StoredRecordingFiles:
    def __init__(self, uow: UnitOfWorkFactory, blobs: BlobStore) -> None:
        self._uow = uow
        self._blobs = blobs

    async def find(self, recording_id: RecordingId, key: str) -> RecordingFileRef:
        recording = await self._readable(recording_id)
        for f in recording.files:
            if key in (f.key, f.key.rsplit("/", 1)[-1]):  # the API shows a file's name, the store its key
                return _ref(recording, f)
        raise RecordingFileNotFound("the recording has no such file", recording_id=recording_id, key=key)

    async def read(self, ref: RecordingFileRef, max_bytes: int) -> bytes:
        info = await self._blobs.stat(ref.key)
        if info.size > max_bytes:
            raise InputTooLarge("the recorded file is larger than analysis accepts", reason="too_large",
                                limit=max_bytes, got=info.size)
        return await self._blobs.read(ref.key)

    async def participant_files(self, recording_id: RecordingId) -> list[RecordingFileRef]:
        recording = await self._readable(recording_id)
        return [_ref(recording, f) for f in recording.files if f.user_id is not None]

    async def visible_to(self, actor: Actor, recording_id: RecordingId) -> bool:
        async with self._uow() as uow:
            try:
                recording = await uow.recordings.get(recording_id)
            except RecordingNotFound:
                return False
            return may_see(actor, await meeting_or_none(uow, recording.meeting_id))

    async def _readable(self, recording_id: RecordingId) -> Recording:
        async with self._uow() as uow:
            try:
                recording = await uow.recordings.get(recording_id)
            except RecordingNotFound:
                raise RecordingFileNotFound("no such recording", recording_id=recording_id) from None
        if recording.state not in READABLE:
            raise RecordingFileNotFound("the recording has no finished files yet", recording_id=recording_id,
                                        state=recording.state.value)
        return recording


def _ref(recording: Recording, f: RecordedFile) -> RecordingFileRef:
    return RecordingFileRef(recording_id=recording.id, meeting_id=recording.meeting_id, key=f.key,
                            user_id=f.user_id, media_type=f.content_type, size=f.size, started_at=f.started_at,
                            has_audio=f.has_audio)
