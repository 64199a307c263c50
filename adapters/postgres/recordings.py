"""RecordingRepository on PostgreSQL (schema: migrations/0007_recordings.sql, 0012_recording_lease.sql).

The writes are functions of a connection, so a unit of work runs them in its transaction.  The partial
unique index ``recordings_one_active_idx`` is what refuses a second active recording of a meeting.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from adapters.postgres.errors import translated
from adapters.postgres.pool import acquire, affected
from adapters.recording_files import files_from_json, files_to_json
from domain.recordings.errors import RecordingConflict, RecordingNotFound
from domain.recordings.model import Recording, RecordingState
from domain.shared.errors import AlreadyExists, ConcurrentModification
from domain.shared.ids import MeetingId, RecordingId, UserId

FIELDS = ("meeting_id", "started_by", "state", "files", "created_at", "started_at", "stopped_at", "finished_at",
          "stopped_by", "failure_reason", "progress")
LEASE = ("owner", "lease_until")  # written by add and the lease methods only, never by save
COLUMNS = ", ".join(("id", *FIELDS, "version", *LEASE))
INSERT = f"INSERT INTO recordings ({COLUMNS}) VALUES ({', '.join(f'${i}' for i in range(1, len(FIELDS) + 5))})"
UPDATE = ("UPDATE recordings SET " + ", ".join(f"{name} = ${i}" for i, name in enumerate(FIELDS, start=3))
          + ", version = version + 1 WHERE id = $1 AND version = $2")
SELECT = f"SELECT {COLUMNS} FROM recordings"
ACTIVE = "state IN ('starting', 'recording', 'stopping')"
UNENDED = "state NOT IN ('completed', 'failed')"
# One UPDATE each, so PostgreSQL's row lock orders a claim against a renewal: the later one re-checks its
# WHERE on the row the earlier one wrote.
CLAIM = (f"UPDATE recordings SET owner = $2, lease_until = $3, version = version + 1 WHERE id = $1 AND {UNENDED} "
         "AND (owner IS NULL OR owner = $2 OR lease_until IS NULL OR lease_until <= $4) RETURNING 1")
RENEW = f"UPDATE recordings SET lease_until = $3 WHERE id = $1 AND owner = $2 AND {UNENDED} RETURNING state"


def _values(r: Recording) -> list[Any]:
    return [r.meeting_id, r.started_by, r.state.value, files_to_json(r.files), r.created_at, r.started_at,
            r.stopped_at, r.finished_at, r.stopped_by, r.failure_reason, r.progress]


def _from_row(row: asyncpg.Record) -> Recording:
    return Recording(
        id=RecordingId(row["id"]), meeting_id=MeetingId(row["meeting_id"]), started_by=UserId(row["started_by"]),
        state=RecordingState(row["state"]), files=files_from_json(row["files"]), created_at=row["created_at"],
        started_at=row["started_at"], stopped_at=row["stopped_at"], finished_at=row["finished_at"],
        stopped_by=UserId(row["stopped_by"]) if row["stopped_by"] is not None else None,
        failure_reason=row["failure_reason"], progress=row["progress"], version=row["version"], owner=row["owner"],
        lease_until=row["lease_until"])


def _unique(recording: Recording) -> dict[str, Any]:
    return {"recordings_pkey": lambda: AlreadyExists("recording exists", recording_id=recording.id),
            "recordings_one_active_idx": lambda: RecordingConflict("the meeting is being recorded already",
                                                                   meeting_id=recording.meeting_id)}


async def insert_recording(conn: asyncpg.Connection, recording: Recording) -> None:
    with translated(_unique(recording)):
        await conn.execute(INSERT, recording.id, *_values(recording), recording.version, recording.owner,
                           recording.lease_until)


async def update_recording(conn: asyncpg.Connection, recording: Recording) -> None:
    """Stores ``recording`` if the stored version is still its version; does not touch ``recording``."""
    with translated(_unique(recording)):
        status = await conn.execute(UPDATE, recording.id, recording.version, *_values(recording))
    if not affected(status):
        if await conn.fetchval("SELECT 1 FROM recordings WHERE id = $1", recording.id) is None:
            raise RecordingNotFound("no such recording", recording_id=recording.id)
        raise ConcurrentModification("the recording was changed by someone else")


async def delete_recording(conn: asyncpg.Connection, recording_id: RecordingId) -> None:
    status = await conn.execute("DELETE FROM recordings WHERE id = $1", recording_id)
    if not affected(status):
        raise RecordingNotFound("no such recording", recording_id=recording_id)


class PostgresRecordingRepository:
    def __init__(self, pool: Any, *, acquire_timeout: float = 5.0) -> None:
        self._pool = pool
        self._timeout = acquire_timeout

    async def add(self, recording: Recording) -> None:
        async with acquire(self._pool, self._timeout) as conn:
            await insert_recording(conn, recording)

    async def get(self, recording_id: RecordingId) -> Recording:
        async with acquire(self._pool, self._timeout) as conn:
            row = await conn.fetchrow(f"{SELECT} WHERE id = $1", recording_id)
        if row is None:
            raise RecordingNotFound("no such recording", recording_id=recording_id)
        return _from_row(row)

    async def save(self, recording: Recording) -> None:
        async with acquire(self._pool, self._timeout) as conn:
            await update_recording(conn, recording)
        recording.version += 1

    async def delete(self, recording_id: RecordingId) -> None:
        async with acquire(self._pool, self._timeout) as conn:
            await delete_recording(conn, recording_id)

    async def list_for_meeting(self, meeting_id: MeetingId) -> list[Recording]:
        return await self._many(f"{SELECT} WHERE meeting_id = $1 ORDER BY created_at DESC, id DESC", meeting_id)

    async def active_for_meeting(self, meeting_id: MeetingId) -> Recording | None:
        found = await self._many(f"{SELECT} WHERE meeting_id = $1 AND {ACTIVE}", meeting_id)
        return found[0] if found else None

    async def list_unfinished(self) -> list[Recording]:
        return await self._many(f"{SELECT} WHERE state NOT IN ('completed', 'failed') ORDER BY created_at, id")

    async def claim_lease(self, recording_id: RecordingId, owner: str, until: dt.datetime,
                          now: dt.datetime) -> bool:
        async with acquire(self._pool, self._timeout) as conn:
            if await conn.fetchval(CLAIM, recording_id, owner, until, now) is not None:
                return True
            if await conn.fetchval("SELECT 1 FROM recordings WHERE id = $1", recording_id) is None:
                raise RecordingNotFound("no such recording", recording_id=recording_id)
        return False

    async def renew_lease(self, recording_id: RecordingId, owner: str,
                          until: dt.datetime) -> RecordingState | None:
        async with acquire(self._pool, self._timeout) as conn:
            state = await conn.fetchval(RENEW, recording_id, owner, until)
        return RecordingState(state) if state is not None else None

    async def _many(self, sql: str, *args: Any) -> list[Recording]:
        async with acquire(self._pool, self._timeout) as conn:
            rows = await conn.fetch(sql, *args)
        return [_from_row(r) for r in rows]
