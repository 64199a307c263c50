"""MeetingRepository on SQLite (schema: migrations/0003_meetings.sql).

The writes are functions of a connection, so that a unit of work can run them in its transaction.
"""

from __future__ import annotations

import json
from typing import Any

import aiosqlite

from adapters.sqlite.database import SqliteDatabase
from adapters.sqlite.errors import translated
from adapters.sqlite.timeconv import from_us, from_us_or_none, to_us, to_us_or_none
from domain.meetings.errors import MeetingNotFound
from domain.meetings.model import Meeting, MeetingSettings, MeetingStatus, Participant
from domain.shared.errors import AlreadyExists, ConcurrentModification
from domain.shared.ids import MeetingId, UserId

FIELDS = ("host_id", "title", "description", "start_time", "duration_minutes", "capacity", "password_hash",
          "mute_on_join", "allow_recording", "invite_only", "allow_analysis", "status", "locked", "captions_on", "co_hosts", "invited_users",
          "invited_emails", "kicked", "attendees", "participants", "created_at", "updated_at", "started_at",
          "ended_at")
COLUMNS = ", ".join(("id", *FIELDS, "version"))
INSERT = f"INSERT INTO meetings ({COLUMNS}) VALUES ({', '.join('?' * (len(FIELDS) + 2))})"
UPDATE = ("UPDATE meetings SET " + ", ".join(f"{name} = ?" for name in FIELDS)
          + ", version = version + 1 WHERE id = ? AND version = ?")


def _json(values: Any) -> str:
    return json.dumps(values, separators=(",", ":"))


def meeting_values(m: Meeting) -> list[Any]:
    """Values in FIELDS order."""
    people = [[u, to_us(m.participants[u].joined_at)] for u in sorted(m.participants)]
    return [m.host_id, m.title, m.description, to_us(m.start_time), m.duration_minutes, m.capacity,
            m.password_hash, int(m.settings.mute_on_join), int(m.settings.allow_recording),
            int(m.settings.invite_only), int(m.settings.allow_analysis), m.status.value, int(m.locked), int(m.captions_on), _json(sorted(m.co_hosts)),
            _json(sorted(m.invited_users)), _json(sorted(m.invited_emails)), _json(sorted(m.kicked)),
            _json(sorted(m.attendees)), _json(people), to_us(m.created_at), to_us(m.updated_at),
            to_us_or_none(m.started_at), to_us_or_none(m.ended_at)]


def meeting_from_row(r: Any) -> Meeting:
    (id_, host_id, title, description, start, duration, capacity, password_hash, mute, recording, invite_only,
     analysis, status, locked, captions_on, co_hosts, invited_users, invited_emails, kicked, attendees, participants, created, updated,
     started, ended, version) = r
    return Meeting(
        id=MeetingId(id_), host_id=UserId(host_id), title=title, description=description,
        start_time=from_us(start), duration_minutes=duration, capacity=capacity, password_hash=password_hash,
        settings=MeetingSettings(mute_on_join=bool(mute), allow_recording=bool(recording),
                                 invite_only=bool(invite_only), allow_analysis=bool(analysis)),
        status=MeetingStatus(status), locked=bool(locked), captions_on=bool(captions_on), co_hosts=set(json.loads(co_hosts)),
        invited_users=set(json.loads(invited_users)), invited_emails=set(json.loads(invited_emails)),
        kicked=set(json.loads(kicked)),
        participants={u: Participant(user_id=u, joined_at=from_us(t)) for u, t in json.loads(participants)},
        attendees=set(json.loads(attendees)), created_at=from_us(created), updated_at=from_us(updated),
        started_at=from_us_or_none(started), ended_at=from_us_or_none(ended), version=version,
    )


async def insert_meeting(conn: aiosqlite.Connection, meeting: Meeting) -> None:
    with translated({"meetings.id": lambda: AlreadyExists("meeting exists", meeting_id=meeting.id)}):
        await conn.execute(INSERT, (meeting.id, *meeting_values(meeting), meeting.version))


async def select_meeting(conn: aiosqlite.Connection, meeting_id: MeetingId) -> Meeting:
    async with conn.execute(f"SELECT {COLUMNS} FROM meetings WHERE id = ?", (meeting_id,)) as cur:
        row = await cur.fetchone()
    if row is None:
        raise MeetingNotFound("no such meeting", meeting_id=meeting_id)
    return meeting_from_row(row)


async def update_meeting(conn: aiosqlite.Connection, meeting: Meeting) -> None:
    """Stores ``meeting`` if the stored version is still its version; does not touch ``meeting``."""
    cur = await conn.execute(UPDATE, (*meeting_values(meeting), meeting.id, meeting.version))
    if cur.rowcount == 0:
        async with conn.execute("SELECT 1 FROM meetings WHERE id = ?", (meeting.id,)) as found:
            if await found.fetchone() is None:
                raise MeetingNotFound("no such meeting", meeting_id=meeting.id)
        raise ConcurrentModification("the meeting was changed by someone else")


async def delete_meeting(conn: aiosqlite.Connection, meeting_id: MeetingId) -> None:
    cur = await conn.execute("DELETE FROM meetings WHERE id = ?", (meeting_id,))
    if cur.rowcount == 0:
        raise MeetingNotFound("no such meeting", meeting_id=meeting_id)


class SqliteMeetingRepository:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def add(self, meeting: Meeting) -> None:
        async with self._db.connection() as conn:
            await insert_meeting(conn, meeting)

    async def get(self, meeting_id: MeetingId) -> Meeting:
        async with self._db.connection() as conn:
            return await select_meeting(conn, meeting_id)

    async def save(self, meeting: Meeting) -> None:
        async with self._db.connection() as conn:
            await update_meeting(conn, meeting)
        meeting.version += 1

    async def delete(self, meeting_id: MeetingId) -> None:
        async with self._db.connection() as conn:
            await delete_meeting(conn, meeting_id)
