"""A recording's files as JSON text, shared by the SQL adapters (one column holds the list: files are
written with the recording and never queried one by one)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from domain.recordings.media import RecordedFile
from domain.shared.ids import UserId


def files_to_json(files: tuple[RecordedFile, ...]) -> str:
    return json.dumps([{
        "key": f.key, "user_id": f.user_id, "content_type": f.content_type, "size": f.size,
        "duration_s": f.duration_s, "started_at": f.started_at.isoformat(), "ended_at": f.ended_at.isoformat(),
        "has_video": f.has_video, "has_audio": f.has_audio} for f in files], separators=(",", ":"))


def files_from_json(text: str) -> tuple[RecordedFile, ...]:
    def one(d: dict[str, Any]) -> RecordedFile:
        return RecordedFile(
            key=d["key"], user_id=UserId(d["user_id"]) if d["user_id"] is not None else None,
            content_type=d["content_type"], size=d["size"], duration_s=d["duration_s"],
            started_at=dt.datetime.fromisoformat(d["started_at"]), ended_at=dt.datetime.fromisoformat(d["ended_at"]),
            has_video=d["has_video"], has_audio=d["has_audio"])
    return tuple(one(d) for d in json.loads(text))
