from __future__ import annotations

from typing import Any

from attrs import field, frozen

from domain.analysis.inference import Task
from domain.analysis.model import InputSource
from domain.shared.ids import MeetingId, RecordingId, UserId


@frozen(kw_only=True)
class SubmitAnalysis:
    """One analysis request: ``data`` for an upload, ``recording_id`` + ``file_key`` for a recorded file,
    ``texts`` for text.  ``options``: ``method`` (denoise), ``operations`` (video enhancement)."""

    kind: Task
    source: InputSource
    data: bytes | None = field(default=None, repr=False)
    media_type: str = ""
    filename: str | None = None
    texts: tuple[str, ...] = ()
    recording_id: RecordingId | None = None
    file_key: str | None = None
    meeting_id: MeetingId | None = None
    participant_id: UserId | None = None
    options: dict[str, Any] = field(factory=dict)
