"""Live captions: the media server's tap, the speech-to-text it streams to, where captions go, and the
meeting transcripts they make (issue 12)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Protocol

from domain.captions.model import Caption, HeardText
from domain.shared.ids import MeetingId, UserId


class SpeechToText(Protocol):
    """Live transcription of one speaker's audio (the AI service's StreamCaptions, in-process or gRPC).

    ``transcribe_live`` consumes ``audio`` (16 kHz mono signed 16-bit little-endian PCM chunks, speech
    only: the caller leaves silence out) and yields text window by window as each is transcribed (Whisper
    is not streaming: windows are cut at pauses, 2-5 s).  It ends when ``audio`` ends and the last window
    is out.  Raises Unavailable when the AI service or its inference nodes cannot be reached, at the start
    or in the middle of the stream (the caller may start a new stream later); never blocks the caller's
    audio source beyond its own back-pressure."""

    def transcribe_live(self, meeting_id: MeetingId, speaker_id: UserId,
                        audio: AsyncIterator[bytes]) -> AsyncIterator[HeardText]: ...


class CaptionSink(Protocol):
    """Where the media server's captioner delivers (the captions use case: store, then tell the room).

    - ``heard``: a caption, partial or final; never raises for a room that has ended (it is dropped).
    - ``unavailable``: captions are on for the room but speech-to-text cannot be reached; ``resumed``
      when it works again.  Both are idempotent.
    Any method may raise Unavailable (the store or the bus is down); the captioner logs and goes on."""

    async def heard(self, caption: Caption) -> None: ...
    async def unavailable(self, room_id: MeetingId, reason: str) -> None: ...
    async def resumed(self, room_id: MeetingId) -> None: ...


class RoomCaptioner(Protocol):
    """The media server's side of captions: a tap on each member's published audio in a room.

    - ``start`` captions the room: every member publishing audio in it now or later is decoded (for this
      tap only; forwarding stays encoded), speech is detected and streamed to SpeechToText, one stream per
      speaker, and what comes back goes to the CaptionSink as Captions.  Idempotent.  Nothing of the
      forwarding path ever waits on the tap: when speech-to-text is slow, audio is dropped, not queued
      without bound.
    - ``stop`` ends every tap of the room (no further speech-to-text calls).  Idempotent; unknown rooms
      are a no-op.  A member's tap also ends when the member leaves the SFU.
    - ``captioning`` lists the rooms captioned on this process.
    """

    async def start(self, room_id: MeetingId) -> None: ...
    async def stop(self, room_id: MeetingId) -> None: ...
    async def captioning(self) -> list[MeetingId]: ...


class TranscriptStore(Protocol):
    """A meeting's transcript: its final captions.

    - ``add`` keeps a final caption; adding one whose id is already kept changes nothing (idempotent
      under redelivery).  Raises ValueError for a partial caption.
    - ``transcript`` returns the meeting's captions ordered by ``start_at`` then ``id``, those starting
      at or after ``since`` and before ``until`` when given, at most ``limit``.
    - ``delete`` removes the meeting's transcript and returns how many captions it held.
    Any method may raise Unavailable."""

    async def add(self, caption: Caption) -> None: ...
    async def transcript(self, meeting_id: MeetingId, *, since: dt.datetime | None = None,
                         until: dt.datetime | None = None, limit: int = 10_000) -> list[Caption]: ...
    async def delete(self, meeting_id: MeetingId) -> int: ...


class CaptionedMeetings(Protocol):
    """Whether a meeting is live with captions on, as the processes that caption rooms see it (read in
    process, or from the meetings service over gRPC when the process has no database of its own).

    ``live_since`` returns when the meeting started if it is live with captions on now, None otherwise
    (not started, ended, captions off, or no such meeting).  May raise Unavailable."""

    async def live_since(self, meeting_id: MeetingId) -> dt.datetime | None: ...
