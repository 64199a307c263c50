"""Identifiers are opaque strings (UUID text) so that every adapter and wire format can carry them."""

from __future__ import annotations

import uuid
from typing import NewType

UserId = NewType("UserId", str)
MeetingId = NewType("MeetingId", str)


def new_id() -> str:
    return str(uuid.uuid4())


def is_valid_id(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 36:
        return False
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False
RecordingId = NewType("RecordingId", str)
AnalysisId = NewType("AnalysisId", str)
NotificationId = NewType("NotificationId", str)
