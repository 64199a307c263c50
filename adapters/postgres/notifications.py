"""The notification stores on PostgreSQL (schema: migrations/0010_notifications.sql)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

import asyncpg

from adapters.postgres.pool import acquire, affected
from domain.notifications.errors import NotificationNotFound, PushSubscriptionNotFound
from domain.notifications.model import Channel, Kind, Notification, Preferences, QuietHours
from domain.notifications.reminders import Reminder
from domain.shared.ids import MeetingId, UserId
from domain.shared.pagination import Page, PageRequest
from ports.notifications import PushSubscription

N_COLUMNS = "id, user_id, kind, title, body, link, data, created_at, read_at"


def _notification(row: asyncpg.Record) -> Notification:
    return Notification(id=row["id"], user_id=UserId(row["user_id"]), kind=Kind(row["kind"]), title=row["title"],
                        body=row["body"], link=row["link"], data=json.loads(row["data"]),
                        created_at=row["created_at"], read_at=row["read_at"])


class _Store:
    def __init__(self, pool: asyncpg.Pool, *, acquire_timeout: float = 5.0) -> None:
        self._pool = pool
        self._timeout = acquire_timeout


class PostgresNotificationHistory(_Store):
    async def add(self, *notifications: Notification) -> list[Notification]:
        stored = []
        async with acquire(self._pool, self._timeout) as conn:
            for n in notifications:
                status = await conn.execute(
                    f"INSERT INTO notifications ({N_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                    " ON CONFLICT (id) DO NOTHING",
                    n.id, n.user_id, n.kind.value, n.title, n.body, n.link, json.dumps(n.data), n.created_at,
                    n.read_at)
                if affected(status):
                    stored.append(n)
        return stored

    async def list(self, user_id: UserId, page: PageRequest, unread_only: bool = False) -> Page[Notification]:
        unread = " AND read_at IS NULL" if unread_only else ""
        async with acquire(self._pool, self._timeout) as conn:
            rows = await conn.fetch(
                f"SELECT {N_COLUMNS}, count(*) OVER () AS total FROM notifications WHERE user_id = $1{unread}"
                " ORDER BY created_at DESC, seq DESC OFFSET $2 LIMIT $3", user_id, page.offset, page.limit)
            total = rows[0]["total"] if rows else await conn.fetchval(
                f"SELECT count(*) FROM notifications WHERE user_id = $1{unread}", user_id)
        return Page(items=tuple(_notification(r) for r in rows), total=total, offset=page.offset, limit=page.limit)

    async def unread(self, user_id: UserId) -> int:
        async with acquire(self._pool, self._timeout) as conn:
            return int(await conn.fetchval(
                "SELECT count(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL", user_id))

    async def mark_read(self, user_id: UserId, notification_id: str, at: dt.datetime) -> Notification:
        async with acquire(self._pool, self._timeout) as conn:
            row = await conn.fetchrow(
                f"UPDATE notifications SET read_at = coalesce(read_at, $3) WHERE id = $1 AND user_id = $2"
                f" RETURNING {N_COLUMNS}", notification_id, user_id, at)
        if row is None:
            raise NotificationNotFound("no such notification", notification_id=notification_id)
        return _notification(row)

    async def mark_all_read(self, user_id: UserId, at: dt.datetime) -> int:
        async with acquire(self._pool, self._timeout) as conn:
            return affected(await conn.execute(
                "UPDATE notifications SET read_at = $2 WHERE user_id = $1 AND read_at IS NULL", user_id, at))


P_COLUMNS = "user_id, channels, quiet_start, quiet_end, timezone, locale, reminder_minutes, phone"


def _preferences(row: asyncpg.Record) -> Preferences:
    quiet = QuietHours(row["quiet_start"], row["quiet_end"]) if row["quiet_start"] is not None else None
    channels = {Kind(k): frozenset(Channel(c) for c in v) for k, v in json.loads(row["channels"]).items()}
    return Preferences(user_id=UserId(row["user_id"]), channels=channels, quiet_hours=quiet,
                       timezone=row["timezone"], locale=row["locale"], reminder_minutes=row["reminder_minutes"],
                       phone=row["phone"])


class PostgresPreferenceStore(_Store):
    async def get(self, user_id: UserId) -> Preferences:
        return (await self.get_many([user_id]))[user_id]

    async def get_many(self, user_ids: Sequence[UserId]) -> dict[UserId, Preferences]:
        async with acquire(self._pool, self._timeout) as conn:
            rows = await conn.fetch(f"SELECT {P_COLUMNS} FROM notification_preferences WHERE user_id = ANY($1)",
                                    list(user_ids))
        found = {r["user_id"]: _preferences(r) for r in rows}
        return {u: found.get(u) or Preferences(user_id=u) for u in user_ids}

    async def put(self, p: Preferences) -> None:
        channels = json.dumps({k.value: sorted(c.value for c in v) for k, v in p.channels.items()})
        quiet = p.quiet_hours
        async with acquire(self._pool, self._timeout) as conn:
            await conn.execute(
                f"INSERT INTO notification_preferences ({P_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                " ON CONFLICT (user_id) DO UPDATE SET channels = $2, quiet_start = $3, quiet_end = $4,"
                " timezone = $5, locale = $6, reminder_minutes = $7, phone = $8",
                p.user_id, channels, quiet.start if quiet else None, quiet.end if quiet else None, p.timezone,
                p.locale, p.reminder_minutes, p.phone)


def _reminder(row: asyncpg.Record) -> Reminder:
    return Reminder(id=row["id"], meeting_id=MeetingId(row["meeting_id"]), user_id=UserId(row["user_id"]),
                    fire_at=row["fire_at"], minutes=row["minutes"])


class PostgresReminderStore(_Store):
    async def replace(self, meeting_id: MeetingId, reminders: Sequence[Reminder]) -> None:
        async with acquire(self._pool, self._timeout) as conn, conn.transaction():
            await conn.execute("DELETE FROM notification_reminders WHERE meeting_id = $1 AND fired_at IS NULL"
                               " AND NOT (id = ANY($2))", meeting_id, [r.id for r in reminders])
            await conn.executemany(
                "INSERT INTO notification_reminders (id, meeting_id, user_id, fire_at, minutes)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
                [(r.id, r.meeting_id, r.user_id, r.fire_at, r.minutes) for r in reminders])

    async def cancel(self, meeting_id: MeetingId) -> None:
        async with acquire(self._pool, self._timeout) as conn:
            await conn.execute("DELETE FROM notification_reminders WHERE meeting_id = $1 AND fired_at IS NULL",
                               meeting_id)

    async def claim_due(self, now: dt.datetime, limit: int, lease: dt.timedelta) -> list[Reminder]:
        # SKIP LOCKED: concurrent claimers each take other rows instead of waiting for one another.
        async with acquire(self._pool, self._timeout) as conn:
            rows = await conn.fetch(
                "UPDATE notification_reminders SET held_until = $2 WHERE id IN ("
                " SELECT id FROM notification_reminders WHERE fired_at IS NULL AND fire_at <= $1"
                " AND (held_until IS NULL OR held_until <= $1) ORDER BY fire_at, id LIMIT $3"
                " FOR UPDATE SKIP LOCKED) RETURNING id, meeting_id, user_id, fire_at, minutes",
                now, now + lease, limit)
        return sorted((_reminder(r) for r in rows), key=lambda r: (r.fire_at, r.id))

    async def mark_fired(self, ids: Sequence[str], at: dt.datetime) -> None:
        async with acquire(self._pool, self._timeout) as conn:
            await conn.execute("UPDATE notification_reminders SET fired_at = $2 WHERE id = ANY($1)", list(ids), at)

    async def pending(self, meeting_id: MeetingId) -> list[Reminder]:
        async with acquire(self._pool, self._timeout) as conn:
            rows = await conn.fetch(
                "SELECT id, meeting_id, user_id, fire_at, minutes FROM notification_reminders"
                " WHERE meeting_id = $1 AND fired_at IS NULL ORDER BY fire_at, id", meeting_id)
        return [_reminder(r) for r in rows]


class PostgresPushSubscriptions(_Store):
    async def add(self, s: PushSubscription) -> None:
        async with acquire(self._pool, self._timeout) as conn:
            await conn.execute(
                "INSERT INTO push_subscriptions (endpoint, user_id, p256dh, auth) VALUES ($1, $2, $3, $4)"
                " ON CONFLICT (endpoint) DO UPDATE SET user_id = $2, p256dh = $3, auth = $4",
                s.endpoint, s.user_id, s.p256dh, s.auth)

    async def of_user(self, user_id: UserId) -> list[PushSubscription]:
        async with acquire(self._pool, self._timeout) as conn:
            rows = await conn.fetch("SELECT endpoint, user_id, p256dh, auth FROM push_subscriptions"
                                    " WHERE user_id = $1 ORDER BY endpoint", user_id)
        return [PushSubscription(user_id=UserId(r["user_id"]), endpoint=r["endpoint"], p256dh=r["p256dh"],
                                 auth=r["auth"]) for r in rows]

    async def remove(self, user_id: UserId, endpoint: str) -> None:
        async with acquire(self._pool, self._timeout) as conn:
            status = await conn.execute("DELETE FROM push_subscriptions WHERE endpoint = $1 AND user_id = $2",
                                        endpoint, user_id)
        if not affected(status):
            raise PushSubscriptionNotFound("no such push subscription")

    async def drop(self, endpoint: str) -> None:
        async with acquire(self._pool, self._timeout) as conn:
            await conn.execute("DELETE FROM push_subscriptions WHERE endpoint = $1", endpoint)
