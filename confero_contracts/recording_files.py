"""Contract for ports.analysis.RecordingFiles.

A subclass provides ``harness``: an object with ``async add(recording_id, meeting_id, files)`` that makes
a finished recording with ``files``, a list of ``(key, user_id or None, bytes)`` in the recording's order
(None: the meeting file), which every member of the meeting may see, and ``recordings``, the adapter."""

from __future__ import annotations

import pytest

from domain.analysis.errors import InputTooLarge, RecordingFileNotFound
from domain.shared.actor import Actor
from domain.shared.ids import MeetingId, RecordingId, UserId, new_id

ALICE, BOB = UserId("00000000-0000-4000-8000-0000000a11ce"), UserId("00000000-0000-4000-8000-000000000b0b")


class RecordingFilesContract:
    @pytest.fixture
    async def harness(self):
        raise NotImplementedError

    async def _recording(self, harness) -> tuple[RecordingId, MeetingId, list[str]]:
        rid, mid = RecordingId(new_id()), MeetingId(new_id())
        keys = [f"recordings/{mid}/{rid}/{n}.webm" for n in ("alice", "bob", "meeting")]
        await harness.add(rid, mid, [(keys[0], ALICE, b"alice-audio"), (keys[1], BOB, b"bob"),
                                     (keys[2], None, b"combined")])
        return rid, mid, keys

    async def test_a_file_is_found_with_its_meeting_and_participant_and_read(self, harness):
        rid, mid, keys = await self._recording(harness)
        ref = await harness.recordings.find(rid, keys[0])
        assert (ref.recording_id, ref.meeting_id, ref.key, ref.user_id) == (rid, mid, keys[0], ALICE)
        assert await harness.recordings.read(ref, max_bytes=1024) == b"alice-audio"

    async def test_a_file_is_found_by_its_name_too(self, harness):
        rid, _, keys = await self._recording(harness)
        assert (await harness.recordings.find(rid, "bob.webm")).key == keys[1]

    async def test_a_file_larger_than_asked_is_refused_before_it_is_read(self, harness):
        rid, _, keys = await self._recording(harness)
        ref = await harness.recordings.find(rid, keys[0])
        with pytest.raises(InputTooLarge):
            await harness.recordings.read(ref, max_bytes=4)

    async def test_unknown_recordings_and_keys_are_not_found(self, harness):
        rid, _, _ = await self._recording(harness)
        with pytest.raises(RecordingFileNotFound):
            await harness.recordings.find(rid, "recordings/nope.webm")
        with pytest.raises(RecordingFileNotFound):
            await harness.recordings.find(RecordingId(new_id()), "recordings/nope.webm")
        with pytest.raises(RecordingFileNotFound):
            await harness.recordings.participant_files(RecordingId(new_id()))

    async def test_participant_files_are_the_per_person_ones_in_order(self, harness):
        rid, _, keys = await self._recording(harness)
        refs = await harness.recordings.participant_files(rid)
        assert [(r.key, r.user_id) for r in refs] == [(keys[0], ALICE), (keys[1], BOB)]

    async def test_visibility_is_false_for_an_unknown_recording_and_true_for_administrators(self, harness):
        rid, _, _ = await self._recording(harness)
        admin = Actor(UserId(new_id()), is_admin=True)
        assert await harness.recordings.visible_to(admin, rid)
        assert not await harness.recordings.visible_to(admin, RecordingId(new_id()))
