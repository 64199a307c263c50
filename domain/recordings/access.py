"""Who may do what with a meeting's recordings.

- Start, stop and delete: the meeting's host, its co-hosts and administrators (NotAllowedToRecord).
  Once the meeting is deleted: administrators, and whoever started the recording.
- See (list, read, download): the host, co-hosts and administrators always; people who attended the
  meeting while its settings allow recording (switching ``allow_recording`` off hides the recordings
  from them again); once the meeting is deleted only administrators (RecordingsHidden otherwise).
"""

from __future__ import annotations

from typing import Any

from domain.meetings.errors import MeetingNotFound
from domain.meetings.model import Meeting
from domain.recordings import errors as e
from domain.recordings.model import Recording
from domain.shared.actor import Actor
from domain.shared.ids import MeetingId


def require_manager(actor: Actor, meeting: Meeting) -> None:
    if not meeting.can_manage(actor):
        raise e.NotAllowedToRecord("only the host, co-hosts and administrators can record a meeting",
                                   meeting_id=meeting.id)


def require_manager_of(actor: Actor, recording: Recording, meeting: Meeting | None) -> None:
    if actor.is_admin:
        return
    if meeting is None:
        if actor.user_id != recording.started_by:
            raise e.NotAllowedToRecord("only administrators manage recordings of deleted meetings")
        return
    require_manager(actor, meeting)


def may_see(actor: Actor, meeting: Meeting | None) -> bool:
    if actor.is_admin:
        return True
    if meeting is None:
        return False
    return meeting.can_manage(actor) or (meeting.settings.allow_recording and actor.user_id in meeting.attendees)


def require_viewer(actor: Actor, meeting_id: MeetingId, meeting: Meeting | None) -> None:
    if meeting is None and not actor.is_admin:
        raise MeetingNotFound("no such meeting", meeting_id=meeting_id)
    if not may_see(actor, meeting):
        raise e.RecordingsHidden("only the host, co-hosts, administrators and the meeting's participants "
                                 "(when the meeting allows recording) see its recordings", meeting_id=meeting_id)


async def meeting_or_none(uow: Any, meeting_id: MeetingId) -> Meeting | None:
    try:
        return await uow.meetings.get(meeting_id)
    except MeetingNotFound:
        return None
