"""What the media server's recorder produces, as the recording aggregate sees it."""

from __future__ import annotations

import datetime as dt

from attrs import frozen

from domain.shared.ids import UserId


@frozen(kw_only=True)
class RecordedFile:
    """One finished file in the blob store.

    ``user_id`` is the participant for a per-participant file (VP8 + Opus WebM of one stay in the
    room), None for the processed meeting file.  ``started_at`` / ``ended_at`` are wall-clock times of
    the first and last media in the file; ``duration_s`` is the container's duration.
    """

    key: str
    user_id: UserId | None
    content_type: str
    size: int
    duration_s: float
    started_at: dt.datetime
    ended_at: dt.datetime
    has_video: bool
    has_audio: bool
