"""Test data builders: valid aggregates with unique ids/names, any field overridable."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from domain.meetings.model import Meeting, MeetingSettings, MeetingStatus, Participant
from domain.shared.ids import MeetingId, UserId, new_id
from domain.users.model import Role, User

# Microseconds on purpose: the storage must keep them.
T0 = dt.datetime(2030, 5, 17, 9, 30, 15, 123456, tzinfo=dt.timezone.utc)
_seq = itertools.count(1)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def a_user_id() -> UserId:
    return UserId(new_id())


def a_user(**overrides: Any) -> User:
    n = next(_seq)
    fields: dict[str, Any] = dict(
        id=a_user_id(), username=f"user_{n}", email=f"user{n}@example.com", password_hash=f"$argon2id$fake${n}",
        display_name=f"User Number {n}", role=Role.USER, banned=False, created_at=at(n), updated_at=at(n),
    )
    fields.update(overrides)
    return User(**fields)


def a_meeting(**overrides: Any) -> Meeting:
    n = next(_seq)
    fields: dict[str, Any] = dict(
        id=MeetingId(new_id()), host_id=a_user_id(), title=f"Meeting {n}", start_time=at(60 + n),
        created_at=at(n), updated_at=at(n),
    )
    fields.update(overrides)
    return Meeting(**fields)


def a_busy_meeting(**overrides: Any) -> Meeting:
    """Every field away from its default, so a round trip exercises the whole mapping."""
    guest, co_host, former, kicked = (a_user_id() for _ in range(4))
    fields: dict[str, Any] = dict(
        description="Quarterly review — ünïcode, 'quotes', and 100% coverage_",
        duration_minutes=95, capacity=7, password_hash="$argon2id$meeting",
        settings=MeetingSettings(mute_on_join=True, allow_recording=False, invite_only=True, allow_analysis=False),
        status=MeetingStatus.LIVE, locked=True, captions_on=True, co_hosts={co_host}, invited_users={guest, former},
        invited_emails={"someone@example.org", "other@example.net"}, kicked={kicked},
        participants={guest: Participant(user_id=guest, joined_at=at(61.000001)),
                      co_host: Participant(user_id=co_host, joined_at=at(62.5))},
        attendees={guest, co_host, former}, started_at=at(61.000001), version=0,
    )
    fields.update(overrides)
    return a_meeting(**fields)


def a_recorded_file(**overrides: Any) -> Any:
    from domain.recordings.media import RecordedFile

    n = next(_seq)
    fields: dict[str, Any] = dict(
        key=f"recordings/m/r/{n}.webm", user_id=a_user_id(), content_type="video/webm", size=1_000_003 + n,
        duration_s=12.345678 + n, started_at=at(n), ended_at=at(n + 0.2), has_video=True, has_audio=True)
    fields.update(overrides)
    return RecordedFile(**fields)


def a_recording(**overrides: Any) -> Any:
    from domain.recordings.model import Recording

    n = next(_seq)
    fields: dict[str, Any] = dict(id=new_id(), meeting_id=MeetingId(new_id()), started_by=a_user_id(),
                                  created_at=at(n))
    fields.update(overrides)
    return Recording(**fields)
