"""MeetingRepository on PostgreSQL: the meeting row (scalars and the small, rarely changing sets as
arrays) plus one ``meeting_attendance`` row per person who ever joined (migrations 0002 and 0004).

A load is one SELECT.  Units of work do not save through this class: they compile their writes into
one statement (adapters/postgres/meeting_writes.py) that writes only the attendance rows that changed.
This class's own ``save`` is for callers without a unit: version-checked, in one transaction.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from adapters.postgres.pool import acquire, affected
from domain.meetings.errors import MeetingNotFound
from domain.meetings.model import Meeting, MeetingSettings, MeetingStatus, Participant
from domain.shared.errors import AlreadyExists, ConcurrentModification
from domain.shared.ids import MeetingId

FIELDS = ("host_id", "title", "description", "start_time", "duration_minutes", "capacity", "password_hash",
          "mute_on_join", "allow_recording", "invite_only", "allow_analysis", "status", "locked", "captions_on", "co_hosts", "invited_users",
          "invited_emails", "kicked", "created_at", "updated_at", "started_at", "ended_at")
COLUMNS = ", ".join(("id", *FIELDS, "version"))
INSERT = f"INSERT INTO meetings ({COLUMNS}) VALUES ({', '.join(f'${i}' for i in range(1, len(FIELDS) + 3))})"
UPDATE = ("UPDATE meetings SET " + ", ".join(f"{name} = ${i}" for i, name in enumerate(FIELDS, start=3))
          + ", version = version + 1 WHERE id = $1 AND version = $2")
# A meeting with its attendance in one row: ids and joined_at (NULL: left) in the same order.
SELECT = (f"SELECT {', '.join('m.' + c for c in ('id', *FIELDS, 'version'))},"
          " coalesce(a.ids, '{}') AS attendance_ids, coalesce(a.times, '{}') AS attendance_joined_at"
          " FROM meetings m LEFT JOIN LATERAL (SELECT array_agg(user_id ORDER BY user_id) AS ids,"
          " array_agg(joined_at ORDER BY user_id) AS times FROM meeting_attendance WHERE meeting_id = m.id) a ON TRUE")
UPSERT_ATTENDANCE = ("INSERT INTO meeting_attendance (meeting_id, user_id, joined_at)"
                     " SELECT $1, u, t FROM unnest($2::text[], $3::timestamptz[]) AS x(u, t)"
                     " ON CONFLICT (meeting_id, user_id) DO UPDATE SET joined_at = EXCLUDED.joined_at")
KEEP_ONLY_ATTENDANCE = "DELETE FROM meeting_attendance WHERE meeting_id = $1 AND user_id <> ALL($2::text[])"


def meeting_values(m: Meeting) -> list[Any]:
    """Values in FIELDS order; sets are sorted so equal meetings give equal rows."""
    return [m.host_id, m.title, m.description, m.start_time, m.duration_minutes, m.capacity, m.password_hash,
            m.settings.mute_on_join, m.settings.allow_recording, m.settings.invite_only, m.settings.allow_analysis,
            m.status.value, m.locked, m.captions_on,
            sorted(m.co_hosts), sorted(m.invited_users), sorted(m.invited_emails), sorted(m.kicked),
            m.created_at, m.updated_at, m.started_at, m.ended_at]


def attendance(m: Meeting) -> dict[str, Any]:
    """user id -> joined_at while in the meeting, None once left (participants are attendees)."""
    rows: dict[str, Any] = dict.fromkeys(m.attendees)
    rows.update((u, p.joined_at) for u, p in m.participants.items())
    return rows


def meeting_from_row(r: asyncpg.Record) -> Meeting:
    ids, times = r["attendance_ids"], r["attendance_joined_at"]
    return Meeting(
        id=r["id"], host_id=r["host_id"], title=r["title"], description=r["description"],
        start_time=r["start_time"], duration_minutes=r["duration_minutes"], capacity=r["capacity"],
        password_hash=r["password_hash"],
        settings=MeetingSettings(mute_on_join=r["mute_on_join"], allow_recording=r["allow_recording"],
                                 invite_only=r["invite_only"], allow_analysis=r["allow_analysis"]),
        status=MeetingStatus(r["status"]), locked=r["locked"], captions_on=r["captions_on"], co_hosts=set(r["co_hosts"]),
        invited_users=set(r["invited_users"]), invited_emails=set(r["invited_emails"]), kicked=set(r["kicked"]),
        participants={u: Participant(user_id=u, joined_at=t) for u, t in zip(ids, times, strict=True) if t is not None},
        attendees=set(ids), created_at=r["created_at"], updated_at=r["updated_at"],
        started_at=r["started_at"], ended_at=r["ended_at"], version=r["version"],
    )


class PostgresMeetingRepository:
    def __init__(self, pool: Any, *, acquire_timeout: float = 5.0) -> None:
        self._pool = pool
        self._timeout = acquire_timeout

    async def add(self, meeting: Meeting) -> None:
        exists = {"meetings_pkey": lambda: AlreadyExists("meeting exists", meeting_id=meeting.id)}
        rows = attendance(meeting)
        async with acquire(self._pool, self._timeout, exists) as conn, conn.transaction():
            await conn.execute(INSERT, meeting.id, *meeting_values(meeting), meeting.version)
            if rows:
                await conn.execute(UPSERT_ATTENDANCE, meeting.id, list(rows), list(rows.values()))

    async def get(self, meeting_id: MeetingId) -> Meeting:
        async with acquire(self._pool, self._timeout) as conn:
            row = await conn.fetchrow(f"{SELECT} WHERE m.id = $1", meeting_id)
        if row is None:
            raise MeetingNotFound("no such meeting", meeting_id=meeting_id)
        return meeting_from_row(row)

    async def save(self, meeting: Meeting) -> None:
        rows = attendance(meeting)
        async with acquire(self._pool, self._timeout) as conn, conn.transaction():
            # Under READ COMMITTED a racing UPDATE waits for the winner, re-reads the row and then no
            # longer matches the old version: exactly one of two saves of one version succeeds.
            status = await conn.execute(UPDATE, meeting.id, meeting.version, *meeting_values(meeting))
            if not affected(status):
                if await conn.fetchval("SELECT 1 FROM meetings WHERE id = $1", meeting.id) is None:
                    raise MeetingNotFound("no such meeting", meeting_id=meeting.id)
                raise ConcurrentModification("the meeting was changed by someone else")
            await conn.execute(KEEP_ONLY_ATTENDANCE, meeting.id, list(rows))
            if rows:
                await conn.execute(UPSERT_ATTENDANCE, meeting.id, list(rows), list(rows.values()))
        meeting.version += 1

    async def delete(self, meeting_id: MeetingId) -> None:
        async with acquire(self._pool, self._timeout) as conn:
            status = await conn.execute("DELETE FROM meetings WHERE id = $1", meeting_id)
        if not affected(status):
            raise MeetingNotFound("no such meeting", meeting_id=meeting_id)
