"""MeetingRepository on PostgreSQL (schema and the reasons for arrays: migrations/0002_meetings.sql)."""

from __future__ import annotations

from typing import Any

import asyncpg

from adapters.postgres.pool import acquire, affected
from domain.meetings.commands import Relation, When
from domain.meetings.errors import MeetingNotFound
from domain.meetings.model import Meeting, MeetingSettings, MeetingStatus, Participant
from domain.shared.errors import AlreadyExists, ConcurrentModification
from domain.shared.ids import MeetingId, UserId
from domain.shared.pagination import Page, PageRequest

FIELDS = ("host_id", "title", "description", "start_time", "duration_minutes", "capacity", "password_hash",
          "mute_on_join", "allow_recording", "invite_only", "status", "locked", "co_hosts", "invited_users",
          "invited_emails", "kicked", "attendees", "participant_ids", "participant_joined_at", "created_at",
          "updated_at", "started_at", "ended_at")
COLUMNS = ", ".join(("id", *FIELDS, "version"))
INSERT = f"INSERT INTO meetings ({COLUMNS}) VALUES ({', '.join(f'${i}' for i in range(1, len(FIELDS) + 3))})"
UPDATE = ("UPDATE meetings SET " + ", ".join(f"{name} = ${i}" for i, name in enumerate(FIELDS, start=3))
          + ", version = version + 1 WHERE id = $1 AND version = $2")

# $1 is the user id, $2 the email (only where used: asyncpg cannot type an unreferenced parameter).
# A kicked user is never invited, even when their email still is (Meeting.is_invited).
INVITED = ("(NOT kicked @> ARRAY[$1::text]"
           " AND (invited_users @> ARRAY[$1::text] OR invited_emails @> ARRAY[$2::text]))")
RELATION: dict[Relation, tuple[str, bool]] = {
    Relation.HOSTED: ("host_id = $1", False),
    Relation.INVITED: (INVITED, True),
    Relation.JOINED: ("attendees @> ARRAY[$1::text]", False),
    Relation.ALL: (f"(host_id = $1 OR {INVITED} OR attendees @> ARRAY[$1::text] OR co_hosts @> ARRAY[$1::text])",
                   True),
}
OPEN = "status IN ('scheduled', 'live')"
WHEN: dict[When, tuple[str, str]] = {
    When.UPCOMING: (OPEN, "start_time, id"),
    When.PAST: (f"NOT {OPEN}", "start_time DESC, id DESC"),
    When.ALL: ("TRUE", "start_time DESC, id DESC"),
}


def meeting_values(m: Meeting) -> list[Any]:
    """Values in FIELDS order; sets are sorted so equal meetings give equal rows."""
    participant_ids = sorted(m.participants)
    return [m.host_id, m.title, m.description, m.start_time, m.duration_minutes, m.capacity, m.password_hash,
            m.settings.mute_on_join, m.settings.allow_recording, m.settings.invite_only, m.status.value, m.locked,
            sorted(m.co_hosts), sorted(m.invited_users), sorted(m.invited_emails), sorted(m.kicked),
            sorted(m.attendees), participant_ids, [m.participants[u].joined_at for u in participant_ids],
            m.created_at, m.updated_at, m.started_at, m.ended_at]


def meeting_from_row(r: asyncpg.Record) -> Meeting:
    return Meeting(
        id=r["id"], host_id=r["host_id"], title=r["title"], description=r["description"],
        start_time=r["start_time"], duration_minutes=r["duration_minutes"], capacity=r["capacity"],
        password_hash=r["password_hash"],
        settings=MeetingSettings(mute_on_join=r["mute_on_join"], allow_recording=r["allow_recording"],
                                 invite_only=r["invite_only"]),
        status=MeetingStatus(r["status"]), locked=r["locked"], co_hosts=set(r["co_hosts"]),
        invited_users=set(r["invited_users"]), invited_emails=set(r["invited_emails"]), kicked=set(r["kicked"]),
        participants={u: Participant(user_id=u, joined_at=t)
                      for u, t in zip(r["participant_ids"], r["participant_joined_at"], strict=True)},
        attendees=set(r["attendees"]), created_at=r["created_at"], updated_at=r["updated_at"],
        started_at=r["started_at"], ended_at=r["ended_at"], version=r["version"],
    )


class PostgresMeetingRepository:
    def __init__(self, pool: asyncpg.Pool, *, acquire_timeout: float = 5.0) -> None:
        self._pool = pool
        self._timeout = acquire_timeout

    async def add(self, meeting: Meeting) -> None:
        exists = {"meetings_pkey": lambda: AlreadyExists("meeting exists", meeting_id=meeting.id)}
        async with acquire(self._pool, self._timeout, exists) as conn:
            await conn.execute(INSERT, meeting.id, *meeting_values(meeting), meeting.version)

    async def get(self, meeting_id: MeetingId) -> Meeting:
        async with acquire(self._pool, self._timeout) as conn:
            row = await conn.fetchrow(f"SELECT {COLUMNS} FROM meetings WHERE id = $1", meeting_id)
        if row is None:
            raise MeetingNotFound("no such meeting", meeting_id=meeting_id)
        return meeting_from_row(row)

    async def save(self, meeting: Meeting) -> None:
        async with acquire(self._pool, self._timeout) as conn:
            # Under READ COMMITTED a racing UPDATE waits for the winner, re-reads the row and then no
            # longer matches the old version: exactly one of two saves of one version succeeds.
            status = await conn.execute(UPDATE, meeting.id, meeting.version, *meeting_values(meeting))
            if not affected(status):
                if await conn.fetchval("SELECT 1 FROM meetings WHERE id = $1", meeting.id) is None:
                    raise MeetingNotFound("no such meeting", meeting_id=meeting.id)
                raise ConcurrentModification("the meeting was changed by someone else")
        meeting.version += 1

    async def delete(self, meeting_id: MeetingId) -> None:
        async with acquire(self._pool, self._timeout) as conn:
            status = await conn.execute("DELETE FROM meetings WHERE id = $1", meeting_id)
        if not affected(status):
            raise MeetingNotFound("no such meeting", meeting_id=meeting_id)

    async def list_for_user(self, user_id: UserId, email: str | None, relation: Relation, when: When,
                            page: PageRequest) -> Page[Meeting]:
        related, uses_email = RELATION[relation]
        status_filter, order = WHEN[when]
        args: list[Any] = [user_id, email] if uses_email else [user_id]
        where = f"{related} AND {status_filter}"
        n = len(args)
        async with acquire(self._pool, self._timeout) as conn:
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                total = await conn.fetchval(f"SELECT count(*) FROM meetings WHERE {where}", *args)
                rows = await conn.fetch(
                    f"SELECT {COLUMNS} FROM meetings WHERE {where} ORDER BY {order} OFFSET ${n + 1} LIMIT ${n + 2}",
                    *args, page.offset, page.limit)
        return Page(items=tuple(map(meeting_from_row, rows)), total=total, offset=page.offset, limit=page.limit)
