"""MeetingQueries on SQLite: the "meetings of mine" rule of domain/meetings/relations.py in SQL.

The membership sets are JSON arrays of the meeting row (migrations/0003_meetings.sql), read with
json_each: a scan, which is what an embedded store of a laptop demo can afford.
"""

from __future__ import annotations

from adapters.sqlite.database import SqliteDatabase
from adapters.sqlite.meetings import COLUMNS, meeting_from_row
from domain.meetings.commands import Relation, When
from domain.meetings.model import Meeting
from domain.shared.ids import UserId
from domain.shared.pagination import Page, PageRequest


def _has(column: str, param: str) -> str:
    return f"EXISTS (SELECT 1 FROM json_each({column}) WHERE value = {param})"


# :user is the user id, :email the email (NULL when unknown: it then matches nothing).
INVITED = f"({_has('invited_users', ':user')} OR {_has('invited_emails', ':email')})"
RELATION: dict[Relation, str] = {
    Relation.HOSTED: "host_id = :user",
    Relation.INVITED: INVITED,
    Relation.JOINED: _has("attendees", ":user"),
    Relation.ALL: f"(host_id = :user OR {INVITED} OR {_has('attendees', ':user')} OR {_has('co_hosts', ':user')})",
}
NOT_KICKED = f"NOT {_has('kicked', ':user')}"  # a kicked user relates to nothing
OPEN = "status IN ('scheduled', 'live')"
WHEN: dict[When, tuple[str, str]] = {
    When.UPCOMING: (OPEN, "start_time, id"),
    When.PAST: (f"NOT {OPEN}", "start_time DESC, id DESC"),
    When.ALL: ("1", "start_time DESC, id DESC"),
}


class SqliteMeetingQueries:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def count_for_user(self, user_id: UserId, email: str | None, relation: Relation, when: When) -> int:
        where = f"{NOT_KICKED} AND {RELATION[relation]} AND {WHEN[when][0]}"
        async with self._db.connection() as conn:
            async with conn.execute(f"SELECT count(*) FROM meetings WHERE {where}",
                                    {"user": user_id, "email": email}) as cur:
                (total,) = await cur.fetchone()  # type: ignore[misc]
        return int(total)

    async def list_for_user(self, user_id: UserId, email: str | None, relation: Relation, when: When,
                            page: PageRequest) -> Page[Meeting]:
        status_filter, order = WHEN[when]
        where = f"{NOT_KICKED} AND {RELATION[relation]} AND {status_filter}"
        args = {"user": user_id, "email": email, "offset": page.offset, "limit": page.limit}
        # Both statements under the database lock: the total agrees with the items.
        async with self._db.connection() as conn:
            async with conn.execute(f"SELECT count(*) FROM meetings WHERE {where}", args) as cur:
                (total,) = await cur.fetchone()  # type: ignore[misc]
            async with conn.execute(f"SELECT {COLUMNS} FROM meetings WHERE {where} ORDER BY {order}"
                                    " LIMIT :limit OFFSET :offset", args) as cur:
                rows = await cur.fetchall()
        return Page(items=tuple(map(meeting_from_row, rows)), total=total, offset=page.offset, limit=page.limit)
