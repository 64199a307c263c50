"""What the room knows of a recording that is running: enough to show the indicator."""

from __future__ import annotations

import datetime as dt

from attrs import frozen


@frozen(kw_only=True)
class ActiveRecording:
    recording_id: str
    started_by: str
    started_at: dt.datetime | None
