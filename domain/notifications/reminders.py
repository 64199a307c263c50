"""Reminders before a meeting starts: planned from the meeting and each person's preferences, stored,
fired by whichever notification process claims them first."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from attrs import frozen

from domain.notifications.facts import MeetingFacts
from domain.shared.ids import MeetingId, UserId


@frozen(kw_only=True)
class Reminder:
    """``id`` is derived from meeting, user and firing time: planning twice stores one row, a fired
    reminder is never planned again, and a moved meeting gets new ids (and new idempotency keys)."""

    id: str
    meeting_id: MeetingId
    user_id: UserId
    fire_at: dt.datetime
    minutes: int

    @classmethod
    def of(cls, meeting_id: MeetingId, user_id: UserId, start: dt.datetime, minutes: int) -> Reminder:
        fire_at = start - dt.timedelta(minutes=minutes)
        stamp = fire_at.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
        return cls(id=f"{meeting_id}:{user_id}:{stamp}", meeting_id=meeting_id, user_id=user_id,
                   fire_at=fire_at, minutes=minutes)


def plan(meeting: MeetingFacts, minutes_by_user: Mapping[UserId, int], now: dt.datetime) -> list[Reminder]:
    """One reminder per reminded person whose minutes are > 0 and whose time is still ahead."""
    if not meeting.open:
        return []
    out = []
    for user in sorted(meeting.reminded):
        minutes = minutes_by_user.get(user, 0)
        if minutes <= 0:
            continue
        r = Reminder.of(meeting.id, user, meeting.start_time, minutes)
        if r.fire_at > now:
            out.append(r)
    return out
