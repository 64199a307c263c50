"""The notification stores on SQLite (schema: migrations/0008_notifications.sql).  The database
serialises every call on its one connection, so each read-then-write below is atomic."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from adapters.sqlite.database import SqliteDatabase
from adapters.sqlite.timeconv import from_us, from_us_or_none, to_us, to_us_or_none
from domain.notifications.errors import NotificationNotFound, PushSubscriptionNotFound
from domain.notifications.model import Channel, Kind, Notification, Preferences, QuietHours
from domain.notifications.reminders import Reminder
from domain.shared.ids import MeetingId, UserId
from domain.shared.pagination import Page, PageRequest
from ports.notifications import PushSubscription

N_COLUMNS = "id, user_id, kind, title, body, link, data, created_at, read_at"


def _notification(r: Any) -> Notification:
    return Notification(id=r[0], user_id=UserId(r[1]), kind=Kind(r[2]), title=r[3], body=r[4], link=r[5],
                        data=json.loads(r[6]), created_at=from_us(r[7]), read_at=from_us_or_none(r[8]))


class SqliteNotificationHistory:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def add(self, *notifications: Notification) -> list[Notification]:
        stored = []
        async with self._db.transaction() as conn:
            for n in notifications:
                cur = await conn.execute(
                    f"INSERT OR IGNORE INTO notifications ({N_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (n.id, n.user_id, n.kind.value, n.title, n.body, n.link, json.dumps(n.data),
                     to_us(n.created_at), to_us_or_none(n.read_at)))
                if cur.rowcount:
                    stored.append(n)
        return stored

    async def list(self, user_id: UserId, page: PageRequest, unread_only: bool = False) -> Page[Notification]:
        unread = " AND read_at IS NULL" if unread_only else ""
        async with self._db.connection() as conn:
            async with conn.execute(f"SELECT {N_COLUMNS} FROM notifications WHERE user_id = ?{unread}"
                                    " ORDER BY created_at DESC, seq DESC LIMIT ? OFFSET ?",
                                    (user_id, page.limit, page.offset)) as cur:
                rows = await cur.fetchall()
            async with conn.execute(f"SELECT count(*) FROM notifications WHERE user_id = ?{unread}",
                                    (user_id,)) as cur:
                (total,) = await cur.fetchone()  # type: ignore[misc]
        return Page(items=tuple(_notification(r) for r in rows), total=total, offset=page.offset, limit=page.limit)

    async def unread(self, user_id: UserId) -> int:
        async with self._db.connection() as conn:
            async with conn.execute("SELECT count(*) FROM notifications WHERE user_id = ? AND read_at IS NULL",
                                    (user_id,)) as cur:
                (n,) = await cur.fetchone()  # type: ignore[misc]
        return int(n)

    async def mark_read(self, user_id: UserId, notification_id: str, at: dt.datetime) -> Notification:
        async with self._db.connection() as conn:
            await conn.execute("UPDATE notifications SET read_at = coalesce(read_at, ?) WHERE id = ? AND user_id = ?",
                               (to_us(at), notification_id, user_id))
            async with conn.execute(f"SELECT {N_COLUMNS} FROM notifications WHERE id = ? AND user_id = ?",
                                    (notification_id, user_id)) as cur:
                row = await cur.fetchone()
        if row is None:
            raise NotificationNotFound("no such notification", notification_id=notification_id)
        return _notification(row)

    async def mark_all_read(self, user_id: UserId, at: dt.datetime) -> int:
        async with self._db.connection() as conn:
            cur = await conn.execute("UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL",
                                     (to_us(at), user_id))
            return cur.rowcount


def _preferences(r: Any) -> Preferences:
    quiet = QuietHours(dt.time.fromisoformat(r[2]), dt.time.fromisoformat(r[3])) if r[2] is not None else None
    channels = {Kind(k): frozenset(Channel(c) for c in v) for k, v in json.loads(r[1]).items()}
    return Preferences(user_id=UserId(r[0]), channels=channels, quiet_hours=quiet, timezone=r[4], locale=r[5],
                       reminder_minutes=r[6], phone=r[7])


class SqlitePreferenceStore:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def get(self, user_id: UserId) -> Preferences:
        return (await self.get_many([user_id]))[user_id]

    async def get_many(self, user_ids: Sequence[UserId]) -> dict[UserId, Preferences]:
        found: dict[str, Preferences] = {}
        async with self._db.connection() as conn:
            for start in range(0, len(user_ids), 500):
                chunk = list(user_ids[start:start + 500])
                marks = ", ".join("?" for _ in chunk)
                async with conn.execute(
                        "SELECT user_id, channels, quiet_start, quiet_end, timezone, locale, reminder_minutes, phone"
                        f" FROM notification_preferences WHERE user_id IN ({marks})", chunk) as cur:
                    found |= {r[0]: _preferences(r) for r in await cur.fetchall()}
        return {u: found.get(u) or Preferences(user_id=u) for u in user_ids}

    async def put(self, p: Preferences) -> None:
        channels = json.dumps({k.value: sorted(c.value for c in v) for k, v in p.channels.items()})
        q = p.quiet_hours
        async with self._db.connection() as conn:
            await conn.execute(
                "INSERT OR REPLACE INTO notification_preferences (user_id, channels, quiet_start, quiet_end,"
                " timezone, locale, reminder_minutes, phone) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (p.user_id, channels, q.start.isoformat() if q else None, q.end.isoformat() if q else None,
                 p.timezone, p.locale, p.reminder_minutes, p.phone))


def _reminder(r: Any) -> Reminder:
    return Reminder(id=r[0], meeting_id=MeetingId(r[1]), user_id=UserId(r[2]), fire_at=from_us(r[3]), minutes=r[4])


R_COLUMNS = "id, meeting_id, user_id, fire_at, minutes"


class SqliteReminderStore:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def replace(self, meeting_id: MeetingId, reminders: Sequence[Reminder]) -> None:
        keep = [r.id for r in reminders]
        marks = ", ".join("?" for _ in keep)
        async with self._db.transaction() as conn:
            await conn.execute("DELETE FROM notification_reminders WHERE meeting_id = ? AND fired_at IS NULL"
                               + (f" AND id NOT IN ({marks})" if keep else ""), (meeting_id, *keep))
            await conn.executemany(
                f"INSERT OR IGNORE INTO notification_reminders ({R_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                [(r.id, r.meeting_id, r.user_id, to_us(r.fire_at), r.minutes) for r in reminders])

    async def cancel(self, meeting_id: MeetingId) -> None:
        await self.replace(meeting_id, [])

    async def claim_due(self, now: dt.datetime, limit: int, lease: dt.timedelta) -> list[Reminder]:
        async with self._db.transaction() as conn:
            async with conn.execute(
                    f"SELECT {R_COLUMNS} FROM notification_reminders WHERE fired_at IS NULL AND fire_at <= ?"
                    " AND (held_until IS NULL OR held_until <= ?) ORDER BY fire_at, id LIMIT ?",
                    (to_us(now), to_us(now), limit)) as cur:
                rows = await cur.fetchall()
            await conn.executemany("UPDATE notification_reminders SET held_until = ? WHERE id = ?",
                                   [(to_us(now + lease), r[0]) for r in rows])
        return [_reminder(r) for r in rows]

    async def mark_fired(self, ids: Sequence[str], at: dt.datetime) -> None:
        async with self._db.transaction() as conn:
            await conn.executemany("UPDATE notification_reminders SET fired_at = ? WHERE id = ?",
                                   [(to_us(at), i) for i in ids])

    async def pending(self, meeting_id: MeetingId) -> list[Reminder]:
        async with self._db.connection() as conn:
            async with conn.execute(f"SELECT {R_COLUMNS} FROM notification_reminders WHERE meeting_id = ?"
                                    " AND fired_at IS NULL ORDER BY fire_at, id", (meeting_id,)) as cur:
                return [_reminder(r) for r in await cur.fetchall()]


class SqlitePushSubscriptions:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def add(self, s: PushSubscription) -> None:
        async with self._db.connection() as conn:
            await conn.execute("INSERT OR REPLACE INTO push_subscriptions (endpoint, user_id, p256dh, auth)"
                               " VALUES (?, ?, ?, ?)", (s.endpoint, s.user_id, s.p256dh, s.auth))

    async def of_user(self, user_id: UserId) -> list[PushSubscription]:
        async with self._db.connection() as conn:
            async with conn.execute("SELECT endpoint, user_id, p256dh, auth FROM push_subscriptions"
                                    " WHERE user_id = ? ORDER BY endpoint", (user_id,)) as cur:
                rows = await cur.fetchall()
        return [PushSubscription(endpoint=r[0], user_id=UserId(r[1]), p256dh=r[2], auth=r[3]) for r in rows]

    async def remove(self, user_id: UserId, endpoint: str) -> None:
        async with self._db.connection() as conn:
            cur = await conn.execute("DELETE FROM push_subscriptions WHERE endpoint = ? AND user_id = ?",
                                     (endpoint, user_id))
            gone = cur.rowcount
        if not gone:
            raise PushSubscriptionNotFound("no such push subscription")

    async def drop(self, endpoint: str) -> None:
        async with self._db.connection() as conn:
            await conn.execute("DELETE FROM push_subscriptions WHERE endpoint = ?", (endpoint,))
