"""Meeting transcripts in a dict: the embedded default and the oracle for the MongoDB store."""

from __future__ import annotations

import datetime as dt

from attrs import evolve

from adapters.memory.analysis import to_millisecond
from domain.captions.model import Caption
from domain.shared.ids import MeetingId


def as_stored(caption: Caption) -> Caption:
    """Times to the millisecond, as BSON dates keep them (so both stores give back equal captions)."""
    return evolve(caption, start_at=to_millisecond(caption.start_at), end_at=to_millisecond(caption.end_at))


class InMemoryTranscriptStore:
    def __init__(self) -> None:
        self._by_meeting: dict[MeetingId, dict[str, Caption]] = {}

    async def add(self, caption: Caption) -> None:
        if not caption.final:
            raise ValueError("only final captions make a transcript")
        self._by_meeting.setdefault(caption.meeting_id, {}).setdefault(caption.id, as_stored(caption))

    async def transcript(self, meeting_id: MeetingId, *, since: dt.datetime | None = None,
                         until: dt.datetime | None = None, limit: int = 10_000) -> list[Caption]:
        kept = self._by_meeting.get(meeting_id, {}).values()
        found = sorted((c for c in kept if (since is None or c.start_at >= to_millisecond(since))  # type: ignore[operator]
                        and (until is None or c.start_at < to_millisecond(until))),  # type: ignore[operator]
                       key=lambda c: (c.start_at, c.id))
        return found[:max(0, limit)]

    async def delete(self, meeting_id: MeetingId) -> int:
        return len(self._by_meeting.pop(meeting_id, {}))
