"""MeetingRepository on PostgreSQL: the meeting row (scalars and the small, rarely changing sets as
arrays) plus one ``meeting_attendance`` row per person who ever joined (migrations 0002 and 0004).

Bound to a unit of work (``lock=True``), ``get`` locks the meeting row (SELECT ... FOR UPDATE) and
remembers what it loaded, and ``save`` writes only what changed: a join or a leave is one attendance
row, with no rewrite of the meeting row and no version bump (the lock already keeps concurrent
changes out, capacity included).  A change of the meeting's own fields still bumps ``version``
under an optimistic check, which is what protects a meeting loaded without the lock (the plain
repository, whose ``save`` is version-checked and rewrites the attendance in one transaction).
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
          "mute_on_join", "allow_recording", "invite_only", "status", "locked", "co_hosts", "invited_users",
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
DELETE_ATTENDANCE = "DELETE FROM meeting_attendance WHERE meeting_id = $1 AND user_id = ANY($2::text[])"
KEEP_ONLY_ATTENDANCE = "DELETE FROM meeting_attendance WHERE meeting_id = $1 AND user_id <> ALL($2::text[])"


def meeting_values(m: Meeting) -> list[Any]:
    """Values in FIELDS order; sets are sorted so equal meetings give equal rows."""
    return [m.host_id, m.title, m.description, m.start_time, m.duration_minutes, m.capacity, m.password_hash,
            m.settings.mute_on_join, m.settings.allow_recording, m.settings.invite_only, m.status.value, m.locked,
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
                                 invite_only=r["invite_only"]),
        status=MeetingStatus(r["status"]), locked=r["locked"], co_hosts=set(r["co_hosts"]),
        invited_users=set(r["invited_users"]), invited_emails=set(r["invited_emails"]), kicked=set(r["kicked"]),
        participants={u: Participant(user_id=u, joined_at=t) for u, t in zip(ids, times, strict=True) if t is not None},
        attendees=set(ids), created_at=r["created_at"], updated_at=r["updated_at"],
        started_at=r["started_at"], ended_at=r["ended_at"], version=r["version"],
    )


class PostgresMeetingRepository:
    def __init__(self, pool: Any, *, acquire_timeout: float = 5.0, lock: bool = False) -> None:
        self._pool = pool
        self._timeout = acquire_timeout
        self._lock = lock  # only inside a unit of work's transaction
        self._loaded: dict[str, tuple[list[Any], dict[str, Any]]] = {}  # id -> (row values, attendance)

    async def add(self, meeting: Meeting) -> None:
        exists = {"meetings_pkey": lambda: AlreadyExists("meeting exists", meeting_id=meeting.id)}
        async with acquire(self._pool, self._timeout, exists) as conn:
            rows = attendance(meeting)
            if rows:
                async with conn.transaction():
                    await conn.execute(INSERT, meeting.id, *meeting_values(meeting), meeting.version)
                    await conn.execute(UPSERT_ATTENDANCE, meeting.id, list(rows), list(rows.values()))
            else:
                await conn.execute(INSERT, meeting.id, *meeting_values(meeting), meeting.version)
        self._remember(meeting)

    async def get(self, meeting_id: MeetingId) -> Meeting:
        async with acquire(self._pool, self._timeout) as conn:
            if self._lock:
                # Lock first, read after, in two statements: under READ COMMITTED a statement that
                # waited for the lock still reads the other tables as of its own start, so a read in the
                # locking statement would miss the attendance rows the previous holder just committed.
                if await conn.fetchval("SELECT 1 FROM meetings WHERE id = $1 FOR UPDATE", meeting_id) is None:
                    raise MeetingNotFound("no such meeting", meeting_id=meeting_id)
            row = await conn.fetchrow(f"{SELECT} WHERE m.id = $1", meeting_id)
        if row is None:
            raise MeetingNotFound("no such meeting", meeting_id=meeting_id)
        meeting = meeting_from_row(row)
        self._remember(meeting)
        return meeting

    async def save(self, meeting: Meeting) -> None:
        loaded = self._loaded.get(meeting.id) if self._lock else None
        async with acquire(self._pool, self._timeout) as conn:
            if loaded is None:
                await self._save_checked(conn, meeting)
            else:
                await self._save_changes(conn, meeting, *loaded)
        self._remember(meeting)

    async def delete(self, meeting_id: MeetingId) -> None:
        async with acquire(self._pool, self._timeout) as conn:
            status = await conn.execute("DELETE FROM meetings WHERE id = $1", meeting_id)
        if not affected(status):
            raise MeetingNotFound("no such meeting", meeting_id=meeting_id)
        self._loaded.pop(meeting_id, None)

    async def _save_checked(self, conn: asyncpg.Connection, meeting: Meeting) -> None:
        rows = attendance(meeting)
        async with conn.transaction():
            # Under READ COMMITTED a racing UPDATE waits for the winner, re-reads the row and then no
            # longer matches the old version: exactly one of two saves of one version succeeds.
            await self._update_row(conn, meeting)
            await conn.execute(KEEP_ONLY_ATTENDANCE, meeting.id, list(rows))
            if rows:
                await conn.execute(UPSERT_ATTENDANCE, meeting.id, list(rows), list(rows.values()))
        meeting.version += 1

    async def _save_changes(self, conn: asyncpg.Connection, meeting: Meeting, values: list[Any],
                            rows: dict[str, Any]) -> None:
        now_values, now_rows = meeting_values(meeting), attendance(meeting)
        if now_values != values:
            await self._update_row(conn, meeting)
            meeting.version += 1
        changed = {u: t for u, t in now_rows.items() if u not in rows or rows[u] != t}
        if changed:
            await conn.execute(UPSERT_ATTENDANCE, meeting.id, list(changed), list(changed.values()))
        gone = [u for u in rows if u not in now_rows]
        if gone:
            await conn.execute(DELETE_ATTENDANCE, meeting.id, gone)

    @staticmethod
    async def _update_row(conn: asyncpg.Connection, meeting: Meeting) -> None:
        status = await conn.execute(UPDATE, meeting.id, meeting.version, *meeting_values(meeting))
        if not affected(status):
            if await conn.fetchval("SELECT 1 FROM meetings WHERE id = $1", meeting.id) is None:
                raise MeetingNotFound("no such meeting", meeting_id=meeting.id)
            raise ConcurrentModification("the meeting was changed by someone else")

    def _remember(self, meeting: Meeting) -> None:
        if self._lock:
            self._loaded[meeting.id] = (meeting_values(meeting), attendance(meeting))
