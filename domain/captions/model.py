"""Captions as the domain sees them: text heard from one speaker over a span of meeting time."""

from __future__ import annotations

import datetime as dt

from attrs import frozen

from domain.shared.ids import MeetingId, UserId


@frozen(kw_only=True)
class HeardText:
    """What speech-to-text made of one window of one speaker's audio.  Times are seconds from the start
    of that speaker's audio stream.  A partial result may be followed by others for the same window and
    ends with its final one; ``window`` numbers the windows of the stream from 0."""

    window: int
    start_s: float
    end_s: float
    text: str
    final: bool = True
    confidence: float | None = None


@frozen(kw_only=True)
class Caption:
    """One caption of a meeting.  ``id`` is stable for a window: its partial captions and its final one
    share it, so a screen replaces the partial line, and a store keeps the final one once."""

    id: str
    meeting_id: MeetingId
    speaker_id: UserId
    text: str
    final: bool
    start_at: dt.datetime
    end_at: dt.datetime
