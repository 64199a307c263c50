"""Recorded files known to this process, for analysis (tests and tools register them; the composed
processes read the recordings context's own files through adapters/inprocess/recording_files.py)."""

from __future__ import annotations

from collections.abc import Iterable

from domain.analysis.errors import InputTooLarge, RecordingFileNotFound
from domain.shared.actor import Actor
from domain.shared.ids import RecordingId, UserId
from ports.analysis import RecordingFileRef


class InMemoryRecordingFiles:
    def __init__(self) -> None:
        self._files: dict[tuple[RecordingId, str], tuple[RecordingFileRef, bytes]] = {}
        self._viewers: dict[RecordingId, frozenset[UserId] | None] = {}

    def register(self, ref: RecordingFileRef, data: bytes, viewers: Iterable[UserId] | None = None) -> None:
        """``viewers``: who sees the recording (administrators always); None = everyone."""
        self._files[(ref.recording_id, ref.key)] = (ref, bytes(data))
        self._viewers[ref.recording_id] = None if viewers is None else frozenset(viewers)

    async def find(self, recording_id: RecordingId, key: str) -> RecordingFileRef:
        for (rid, stored), (ref, _) in self._files.items():
            if rid == recording_id and key in (stored, stored.rsplit("/", 1)[-1]):
                return ref
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

    async def participant_files(self, recording_id: RecordingId) -> list[RecordingFileRef]:
        if recording_id not in self._viewers:
            raise RecordingFileNotFound("no such recording", recording_id=recording_id)
        return [ref for (rid, _), (ref, _) in self._files.items() if rid == recording_id and ref.user_id is not None]

    async def visible_to(self, actor: Actor, recording_id: RecordingId) -> bool:
        if recording_id not in self._viewers:
            return False
        viewers = self._viewers[recording_id]
        return actor.is_admin or viewers is None or actor.user_id in viewers
