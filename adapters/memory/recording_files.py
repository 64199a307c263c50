"""Recorded files known to this process, for analysis (the recordings context registers them)."""

from __future__ import annotations

from domain.analysis.errors import InputTooLarge, RecordingFileNotFound
from domain.shared.ids import RecordingId
from ports.analysis import RecordingFileRef


class InMemoryRecordingFiles:
    def __init__(self) -> None:
        self._files: dict[tuple[RecordingId, str], tuple[RecordingFileRef, bytes]] = {}

    def register(self, ref: RecordingFileRef, data: bytes) -> None:
        self._files[(ref.recording_id, ref.key)] = (ref, bytes(data))

    async def find(self, recording_id: RecordingId, key: str) -> RecordingFileRef:
        try:
            return self._files[(recording_id, key)][0]
        except KeyError:
            raise RecordingFileNotFound("no such recording file", recording_id=recording_id, key=key) from None

    async def read(self, ref: RecordingFileRef, max_bytes: int) -> bytes:
        data = self._files[(ref.recording_id, ref.key)][1]
        if len(data) > max_bytes:
            raise InputTooLarge("the recorded file is larger than analysis accepts", reason="too_large",
                                limit=max_bytes, got=len(data))
        return data
