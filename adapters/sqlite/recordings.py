"""RecordingRepository on SQLite (schema: migrations/0005_recordings.sql, 0010_recording_lease.sql).

The writes are functions of a connection, so a unit of work can run them in its transaction; the
partial unique index on ``meeting_id`` refuses a second active recording of a meeting.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import aiosqlite

from adapters.recording_files import files_from_json, files_to_json
from adapters.sqlite.database import SqliteDatabase
from adapters.sqlite.errors import translated
from adapters.sqlite.timeconv import from_us, from_us_or_none, to_us, to_us_or_none
from domain.recordings.errors import RecordingConflict, RecordingNotFound
from domain.recordings.model import Recording, RecordingState
from domain.shared.errors import AlreadyExists, ConcurrentModification
from domain.shared.ids import MeetingId, RecordingId, UserId

FIELDS = ("meeting_id", "started_by", "state", "files", "created_at", "started_at", "stopped_at", "finished_at",
          "stopped_by", "failure_reason", "progress")
LEASE = ("owner", "lease_until")  # written by add and the lease methods only, never by save
COLUMNS = ", ".join(("id", *FIELDS, "version", *LEASE))
INSERT = f"INSERT INTO recordings ({COLUMNS}) VALUES ({', '.join('?' * (len(FIELDS) + 4))})"
UPDATE = ("UPDATE recordings SET " + ", ".join(f"{name} = ?" for name in FIELDS)
          + ", version = version + 1 WHERE id = ? AND version = ?")
SELECT = f"SELECT {COLUMNS} FROM recordings"
UNENDED = "state NOT IN ('completed', 'failed')"
CLAIM = (f"UPDATE recordings SET owner = ?, lease_until = ?, version = version + 1 WHERE id = ? AND {UNENDED} "
         "AND (owner IS NULL OR owner = ? OR lease_until IS NULL OR lease_until <= ?)")
RENEW = f"UPDATE recordings SET lease_until = ? WHERE id = ? AND owner = ? AND {UNENDED} RETURNING state"


def _values(r: Recording) -> list[Any]:
    return [r.meeting_id, r.started_by, r.state.value, files_to_json(r.files), to_us(r.created_at),
            to_us_or_none(r.started_at), to_us_or_none(r.stopped_at), to_us_or_none(r.finished_at), r.stopped_by,
            r.failure_reason, r.progress]


def _from_row(row: Any) -> Recording:
    (id_, meeting_id, started_by, state, files, created, started, stopped, finished, stopped_by, reason, progress,
     version, owner, lease_until) = row
    return Recording(
        id=RecordingId(id_), meeting_id=MeetingId(meeting_id), started_by=UserId(started_by),
        state=RecordingState(state), files=files_from_json(files), created_at=from_us(created),
        started_at=from_us_or_none(started), stopped_at=from_us_or_none(stopped),
        finished_at=from_us_or_none(finished), stopped_by=UserId(stopped_by) if stopped_by is not None else None,
        failure_reason=reason, progress=progress, version=version, owner=owner,
        lease_until=from_us_or_none(lease_until))


def _unique(recording: Recording) -> dict[str, Any]:
    return {"recordings.id": lambda: AlreadyExists("recording exists", recording_id=recording.id),
            "recordings.meeting_id": lambda: RecordingConflict("the meeting is being recorded already",
                                                               meeting_id=recording.meeting_id)}


async def insert_recording(conn: aiosqlite.Connection, recording: Recording) -> None:
    with translated(_unique(recording)):
        await conn.execute(INSERT, (recording.id, *_values(recording), recording.version, recording.owner,
                                    to_us_or_none(recording.lease_until)))


async def update_recording(conn: aiosqlite.Connection, recording: Recording) -> None:
    """Stores ``recording`` if the stored version is still its version; does not touch ``recording``."""
    with translated(_unique(recording)):
        cur = await conn.execute(UPDATE, (*_values(recording), recording.id, recording.version))
    if cur.rowcount == 0:
        async with conn.execute("SELECT 1 FROM recordings WHERE id = ?", (recording.id,)) as found:
            if await found.fetchone() is None:
                raise RecordingNotFound("no such recording", recording_id=recording.id)
        raise ConcurrentModification("the recording was changed by someone else")


async def delete_recording(conn: aiosqlite.Connection, recording_id: RecordingId) -> None:
    cur = await conn.execute("DELETE FROM recordings WHERE id = ?", (recording_id,))
    if cur.rowcount == 0:
        raise RecordingNotFound("no such recording", recording_id=recording_id)


class SqliteRecordingRepository:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def add(self, recording: Recording) -> None:
        async with self._db.connection() as conn:
            await insert_recording(conn, recording)

    async def get(self, recording_id: RecordingId) -> Recording:
        found = await self._many(f"{SELECT} WHERE id = ?", recording_id)
        if not found:
            raise RecordingNotFound("no such recording", recording_id=recording_id)
        return found[0]

    async def save(self, recording: Recording) -> None:
        async with self._db.connection() as conn:
            await update_recording(conn, recording)
        recording.version += 1

    async def delete(self, recording_id: RecordingId) -> None:
        async with self._db.connection() as conn:
            await delete_recording(conn, recording_id)

    async def list_for_meeting(self, meeting_id: MeetingId) -> list[Recording]:
        return await self._many(f"{SELECT} WHERE meeting_id = ? ORDER BY created_at DESC, id DESC", meeting_id)

    async def active_for_meeting(self, meeting_id: MeetingId) -> Recording | None:
        found = await self._many(
            f"{SELECT} WHERE meeting_id = ? AND state IN ('starting', 'recording', 'stopping')", meeting_id)
        return found[0] if found else None

    async def list_unfinished(self) -> list[Recording]:
        return await self._many(f"{SELECT} WHERE state NOT IN ('completed', 'failed') ORDER BY created_at, id")

    async def claim_lease(self, recording_id: RecordingId, owner: str, until: dt.datetime,
                          now: dt.datetime) -> bool:
        # One statement: SQLite runs writes one at a time, so a renewal cannot slip in between.
        async with self._db.connection() as conn:
            cur = await conn.execute(CLAIM, (owner, to_us(until), recording_id, owner, to_us(now)))
            if cur.rowcount:
                return True
        await self.get(recording_id)
        return False

    async def renew_lease(self, recording_id: RecordingId, owner: str,
                          until: dt.datetime) -> RecordingState | None:
        async with self._db.connection() as conn, conn.execute(RENEW, (to_us(until), recording_id, owner)) as cur:
            row = await cur.fetchone()
        return RecordingState(row[0]) if row is not None else None

    async def _many(self, sql: str, *args: Any) -> list[Recording]:
        async with self._db.connection() as conn, conn.execute(sql, args) as cur:
            rows = await cur.fetchall()
        return [_from_row(r) for r in rows]
