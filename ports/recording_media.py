"""The media server's side of recording: its tap on the SFU's encoded frames and the processing step."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from domain.recordings.media import RecordedFile
from domain.shared.ids import MeetingId, RecordingId


class RoomRecorder(Protocol):
    """Records a room's published media as it is forwarded: encoded frames, never decoded or re-encoded.

    - ``start`` begins recording every member who publishes in ``room_id`` now and every member who
      joins later, from their first frame, each stay of a member into its own WebM (VP8 + Opus) under
      ``key_prefix`` in the blob store, uploaded progressively so a crash loses at most the last upload
      interval (and the container cluster being written, about a second).  A member who leaves or is removed from the SFU (leave, kick, meeting end) has their file
      finished at that moment.  Raises RecordingConflict if the room is already being recorded and
      Unavailable when the blob store cannot be reached at start.
    - ``stop`` finishes every open file of the recording and returns all files it wrote (including those
      finished earlier); unknown ids return [].  Idempotent.
    - ``recover`` makes playable files from what a crashed process uploaded under ``key_prefix`` (the
      progressive uploads, pending multipart uploads, finished parts) and returns them, with those
      finished before the crash; it never raises for damaged data (a file that cannot be saved is left
      out) but may raise Unavailable.  Idempotent.  It must only be called for a recording that no
      process is running any more.
    - ``recording`` lists the recordings this process is running.
    """

    async def start(self, recording_id: RecordingId, room_id: MeetingId, key_prefix: str) -> None: ...
    async def stop(self, recording_id: RecordingId) -> list[RecordedFile]: ...
    async def recover(self, recording_id: RecordingId, key_prefix: str) -> list[RecordedFile]: ...
    async def recording(self) -> list[RecordingId]: ...


class RecordingProcessor(Protocol):
    """The after-meeting step: one meeting file (mixed audio, a grid of every video) from the
    per-participant files, written to ``out_key``.  It may decode and re-encode; ``progress`` is called
    with a fraction in [0, 1] as it goes.  Raises ProcessingFailed (with the reason) when the inputs
    cannot be combined, Unavailable when the blob store cannot be reached."""

    async def compose(self, files: Sequence[RecordedFile], out_key: str,
                      progress: Callable[[float], Awaitable[None]]) -> RecordedFile: ...
