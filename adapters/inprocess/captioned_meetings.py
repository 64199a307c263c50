"""CaptionedMeetings (ports/captions.py) from the meeting repository of this process's composition (the
meetings service's answer over gRPC takes its place in a process without a database:
adapters/grpc/meeting_state.py)."""

from __future__ import annotations

import datetime as dt

from domain.captions.service import live_captions_since
from domain.meetings.errors import MeetingNotFound
from domain.shared.ids import MeetingId
from ports.meetings import MeetingRepository


class RepositoryCaptionedMeetings:
    def __init__(self, meetings: MeetingRepository) -> None:
        self._meetings = meetings

    async def live_since(self, meeting_id: MeetingId) -> dt.datetime | None:
        try:
            meeting = await self._meetings.get(meeting_id)
        except MeetingNotFound:
            return None
        return live_captions_since(meeting)
