"""A unit of work's meeting writes, and its outbox rows, compiled into ONE statement.

A statement is its own transaction in PostgreSQL, so the change and its events commit together, in
one round trip, and no lock is held across round trips: a join is a load (one SELECT) and this one
statement.  Each write is a data-modifying CTE; the meeting row's UPDATE is guarded by the version
the unit loaded (it re-checks the latest row version after waiting for a concurrent writer), and
every other write of the statement reads its rows FROM that guard, so a lost race writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from attrs import frozen

from adapters.metrics.event_traces import current_traceparent
from adapters.postgres.meetings import COLUMNS, FIELDS, attendance, meeting_values
from domain.meetings.model import Meeting
from domain.shared.events import DomainEvent


@frozen
class MeetingWrite:
    """``kind`` is add, save or delete.  ``meeting`` is a copy at the version it was loaded with;
    ``loaded`` is the attendance the unit loaded (None: rewrite all of it)."""

    kind: str
    meeting_id: str
    meeting: Meeting | None = None
    loaded: dict[str, Any] | None = None


class Statement:
    def __init__(self) -> None:
        self.ctes: list[str] = []
        self.args: list[Any] = []
        self.guards: list[tuple[str, MeetingWrite]] = []

    def arg(self, value: Any, cast: str = "") -> str:
        self.args.append(value)
        return f"${len(self.args)}{cast}"

    def add(self, write: MeetingWrite) -> None:
        n = len(self.ctes)
        m = write.meeting
        if write.kind == "delete":
            guard = f"g{n}"
            self.ctes.append(f"{guard} AS (DELETE FROM meetings WHERE id = {self.arg(write.meeting_id)} RETURNING id)")
            self.guards.append((guard, write))
            return
        assert m is not None
        values = [m.id, *meeting_values(m)]
        guard = f"g{n}"
        if write.kind == "add":
            params = ", ".join(self.arg(v) for v in [*values, m.version])
            self.ctes.append(f"{guard} AS (INSERT INTO meetings ({COLUMNS}) VALUES ({params}) RETURNING id)")
        else:
            sets = ", ".join(f"{name} = {self.arg(v)}" for name, v in zip(FIELDS, values[1:], strict=True))
            self.ctes.append(f"{guard} AS (UPDATE meetings SET {sets}, version = version + 1"
                             f" WHERE id = {self.arg(m.id)} AND version = {self.arg(m.version)} RETURNING id)")
        self.guards.append((guard, write))
        now = attendance(m)
        before = write.loaded if write.kind == "save" else {}
        if before is None:  # not loaded through this unit: the whole attendance is rewritten
            self.ctes.append(f"d{n} AS (DELETE FROM meeting_attendance a USING {guard} WHERE a.meeting_id = {guard}.id"
                             f" AND a.user_id <> ALL({self.arg(list(now), '::text[]')}))")
            changed = now
        else:
            changed = {u: t for u, t in now.items() if u not in before or before[u] != t}
            gone = [u for u in before if u not in now]
            if gone:
                self.ctes.append(f"d{n} AS (DELETE FROM meeting_attendance a USING {guard}"
                                 f" WHERE a.meeting_id = {guard}.id AND a.user_id = ANY({self.arg(gone, '::text[]')}))")
        if changed:
            self.ctes.append(
                f"u{n} AS (INSERT INTO meeting_attendance (meeting_id, user_id, joined_at)"
                f" SELECT {guard}.id, x.u, x.t FROM {guard},"
                f" unnest({self.arg(list(changed), '::text[]')}, {self.arg(list(changed.values()), '::timestamptz[]')})"
                f" AS x(u, t) ON CONFLICT (meeting_id, user_id) DO UPDATE SET joined_at = EXCLUDED.joined_at)")

    def events(self, events: Sequence[DomainEvent]) -> None:
        if not events:
            return
        when = " AND ".join(f"EXISTS (SELECT 1 FROM {g})" for g, _ in self.guards) or "TRUE"
        self.ctes.append(
            "o AS (INSERT INTO outbox (event_id, name, occurred_at, payload, trace_context)"
            f" SELECT e, n, o, p, {self.arg(current_traceparent(), '::text')}"  # adapters/metrics/event_traces.py
            f" FROM unnest({self.arg([e.event_id for e in events], '::text[]')},"
            f" {self.arg([e.name for e in events], '::text[]')}, {self.arg([e.occurred_at for e in events], '::timestamptz[]')},"
            f" {self.arg([json.dumps(e.payload(), separators=(',', ':')) for e in events], '::jsonb[]')})"
            f" WITH ORDINALITY AS t(e, n, o, p, i) WHERE {when} ORDER BY i)")

    def sql(self) -> str:
        counts = ", ".join(f"(SELECT count(*) FROM {g})" for g, _ in self.guards) or "0"
        return f"WITH {', '.join(self.ctes)} SELECT {counts}" if self.ctes else "SELECT 0"
