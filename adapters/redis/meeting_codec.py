"""Meeting <-> JSON-safe dict, for the cache.  Every field is listed on purpose: the codec test fails
when the aggregate gains a field this module does not know."""

from __future__ import annotations

import datetime as dt
from typing import Any

from domain.meetings.model import Meeting, MeetingSettings, MeetingStatus, Participant
from domain.shared.ids import MeetingId, UserId

FORMAT = 1  # bump when the shape changes: entries of another format are treated as misses


def _time(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_time(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


def meeting_to_dict(m: Meeting) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "id": m.id, "host_id": m.host_id, "title": m.title, "description": m.description,
        "start_time": _time(m.start_time), "duration_minutes": m.duration_minutes, "capacity": m.capacity,
        "password_hash": m.password_hash,
        "settings": {"mute_on_join": m.settings.mute_on_join, "allow_recording": m.settings.allow_recording,
                     "invite_only": m.settings.invite_only},
        "status": m.status.value, "locked": m.locked,
        # Sorted so equal meetings encode to equal bytes.
        "co_hosts": sorted(m.co_hosts), "invited_users": sorted(m.invited_users),
        "invited_emails": sorted(m.invited_emails), "kicked": sorted(m.kicked),
        "participants": [{"user_id": p.user_id, "joined_at": _time(p.joined_at)}
                         for _, p in sorted(m.participants.items())],
        "attendees": sorted(m.attendees),
        "created_at": _time(m.created_at), "updated_at": _time(m.updated_at),
        "started_at": _time(m.started_at), "ended_at": _time(m.ended_at), "version": m.version,
    }


def meeting_from_dict(d: dict[str, Any]) -> Meeting:
    if d.get("format") != FORMAT:
        raise ValueError(f"unknown meeting format {d.get('format')!r}")
    participants = {UserId(p["user_id"]): Participant(user_id=UserId(p["user_id"]),
                                                      joined_at=_parse_time(p["joined_at"]))
                    for p in d["participants"]}
    return Meeting(
        id=MeetingId(d["id"]), host_id=UserId(d["host_id"]), title=d["title"], description=d["description"],
        start_time=_parse_time(d["start_time"]), duration_minutes=d["duration_minutes"], capacity=d["capacity"],
        password_hash=d["password_hash"], settings=MeetingSettings(**d["settings"]),
        status=MeetingStatus(d["status"]), locked=d["locked"],
        co_hosts={UserId(u) for u in d["co_hosts"]}, invited_users={UserId(u) for u in d["invited_users"]},
        invited_emails=set(d["invited_emails"]), kicked={UserId(u) for u in d["kicked"]},
        participants=participants, attendees={UserId(u) for u in d["attendees"]},
        created_at=_parse_time(d["created_at"]), updated_at=_parse_time(d["updated_at"]),
        started_at=_parse_time(d["started_at"]), ended_at=_parse_time(d["ended_at"]), version=d["version"],
    )
