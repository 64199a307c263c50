"""MeetingQueries on PostgreSQL: the "meetings of mine" rule of domain/meetings/relations.py in SQL."""

from __future__ import annotations

from typing import Any

import asyncpg

from adapters.postgres.meetings import SELECT, meeting_from_row
from adapters.postgres.pool import acquire
from domain.meetings.commands import Relation, When
from domain.meetings.model import Meeting
from domain.shared.ids import UserId
from domain.shared.pagination import Page, PageRequest

# $1 is the user id, $2 the email (only where used: asyncpg cannot type an unreferenced parameter).
INVITED = "(m.invited_users @> ARRAY[$1::text] OR m.invited_emails @> ARRAY[$2::text])"
JOINED = "m.id IN (SELECT meeting_id FROM meeting_attendance WHERE user_id = $1)"
RELATION: dict[Relation, tuple[str, bool]] = {
    Relation.HOSTED: ("m.host_id = $1", False),
    Relation.INVITED: (INVITED, True),
    Relation.JOINED: (JOINED, False),
    Relation.ALL: (f"(m.host_id = $1 OR {INVITED} OR {JOINED} OR m.co_hosts @> ARRAY[$1::text])", True),
}
NOT_KICKED = "NOT m.kicked @> ARRAY[$1::text]"
OPEN = "m.status IN ('scheduled', 'live')"
WHEN: dict[When, tuple[str, str]] = {
    When.UPCOMING: (OPEN, "m.start_time, m.id"),
    When.PAST: (f"NOT {OPEN}", "m.start_time DESC, m.id DESC"),
    When.ALL: ("TRUE", "m.start_time DESC, m.id DESC"),
}


class PostgresMeetingQueries:
    def __init__(self, pool: asyncpg.Pool, *, acquire_timeout: float = 5.0) -> None:
        self._pool = pool
        self._timeout = acquire_timeout

    async def list_for_user(self, user_id: UserId, email: str | None, relation: Relation, when: When,
                            page: PageRequest) -> Page[Meeting]:
        related, uses_email = RELATION[relation]
        status_filter, order = WHEN[when]
        args: list[Any] = [user_id, email] if uses_email else [user_id]
        where = f"{NOT_KICKED} AND {related} AND {status_filter}"
        n = len(args)
        async with acquire(self._pool, self._timeout) as conn:
            # One snapshot for both statements, so the total agrees with the items.
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                total = await conn.fetchval(f"SELECT count(*) FROM meetings m WHERE {where}", *args)
                rows = await conn.fetch(f"{SELECT} WHERE {where} ORDER BY {order} OFFSET ${n + 1} LIMIT ${n + 2}",
                                        *args, page.offset, page.limit)
        return Page(items=tuple(map(meeting_from_row, rows)), total=total, offset=page.offset, limit=page.limit)
