"""The notification stores of the memory family: history, preferences, reminders, push subscriptions,
the idempotency log, the rate limit and the live feed.  Each method runs without awaiting between
reading and writing, so on one event loop each is atomic (as the SQL statement or script is)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Sequence

import attrs

from domain.notifications.errors import NotificationNotFound, PushSubscriptionNotFound
from domain.notifications.model import Channel, Notification, Preferences
from domain.notifications.reminders import Reminder
from domain.shared.ids import MeetingId, UserId
from domain.shared.pagination import Page, PageRequest
from ports.notifications import LiveHandler, PushSubscription

log = logging.getLogger(__name__)


class InMemoryNotificationHistory:
    def __init__(self) -> None:
        self._by_id: dict[str, Notification] = {}
        self._by_user: dict[UserId, list[str]] = {}  # oldest first

    async def add(self, *notifications: Notification) -> list[Notification]:
        stored = []
        for n in notifications:
            if n.id in self._by_id:
                continue
            self._by_id[n.id] = attrs.evolve(n)
            self._by_user.setdefault(n.user_id, []).append(n.id)
            stored.append(n)
        return stored

    async def list(self, user_id: UserId, page: PageRequest, unread_only: bool = False) -> Page[Notification]:
        items = [self._by_id[i] for i in reversed(self._by_user.get(user_id, []))]
        items.sort(key=lambda n: n.created_at, reverse=True)  # stable: equal times stay newest-added first
        if unread_only:
            items = [n for n in items if n.read_at is None]
        chosen = tuple(attrs.evolve(n) for n in items[page.offset:page.offset + page.limit])
        return Page(items=chosen, total=len(items), offset=page.offset, limit=page.limit)

    async def unread(self, user_id: UserId) -> int:
        return sum(1 for i in self._by_user.get(user_id, []) if self._by_id[i].read_at is None)

    async def mark_read(self, user_id: UserId, notification_id: str, at: dt.datetime) -> Notification:
        n = self._by_id.get(notification_id)
        if n is None or n.user_id != user_id:
            raise NotificationNotFound("no such notification", notification_id=notification_id)
        if n.read_at is None:
            n.read_at = at
        return attrs.evolve(n)

    async def mark_all_read(self, user_id: UserId, at: dt.datetime) -> int:
        changed = 0
        for i in self._by_user.get(user_id, []):
            if self._by_id[i].read_at is None:
                self._by_id[i].read_at = at
                changed += 1
        return changed


class InMemoryPreferenceStore:
    def __init__(self) -> None:
        self._prefs: dict[UserId, Preferences] = {}

    async def get(self, user_id: UserId) -> Preferences:
        found = self._prefs.get(user_id)
        return attrs.evolve(found) if found is not None else Preferences(user_id=user_id)

    async def get_many(self, user_ids: Sequence[UserId]) -> dict[UserId, Preferences]:
        return {u: await self.get(u) for u in user_ids}

    async def put(self, preferences: Preferences) -> None:
        self._prefs[preferences.user_id] = attrs.evolve(preferences, channels=dict(preferences.channels))


@attrs.define
class _Row:
    reminder: Reminder
    held_until: dt.datetime | None = None
    fired_at: dt.datetime | None = None


class InMemoryReminderStore:
    def __init__(self) -> None:
        self._rows: dict[str, _Row] = {}

    async def replace(self, meeting_id: MeetingId, reminders: Sequence[Reminder]) -> None:
        keep = {r.id for r in reminders}
        for rid, row in list(self._rows.items()):
            if row.reminder.meeting_id == meeting_id and row.fired_at is None and rid not in keep:
                del self._rows[rid]
        for r in reminders:
            self._rows.setdefault(r.id, _Row(r))

    async def cancel(self, meeting_id: MeetingId) -> None:
        await self.replace(meeting_id, [])

    async def claim_due(self, now: dt.datetime, limit: int, lease: dt.timedelta) -> list[Reminder]:
        due = sorted((row for row in self._rows.values()
                      if row.fired_at is None and row.reminder.fire_at <= now
                      and (row.held_until is None or row.held_until <= now)),
                     key=lambda row: (row.reminder.fire_at, row.reminder.id))[:limit]
        for row in due:
            row.held_until = now + lease
        return [row.reminder for row in due]

    async def mark_fired(self, ids: Sequence[str], at: dt.datetime) -> None:
        for rid in ids:
            row = self._rows.get(rid)
            if row is not None:
                row.fired_at = at

    async def pending(self, meeting_id: MeetingId) -> list[Reminder]:
        return sorted((row.reminder for row in self._rows.values()
                       if row.reminder.meeting_id == meeting_id and row.fired_at is None),
                      key=lambda r: (r.fire_at, r.id))


class InMemoryPushSubscriptions:
    def __init__(self) -> None:
        self._by_endpoint: dict[str, PushSubscription] = {}

    async def add(self, subscription: PushSubscription) -> None:
        self._by_endpoint[subscription.endpoint] = subscription

    async def of_user(self, user_id: UserId) -> list[PushSubscription]:
        return sorted((s for s in self._by_endpoint.values() if s.user_id == user_id), key=lambda s: s.endpoint)

    async def remove(self, user_id: UserId, endpoint: str) -> None:
        found = self._by_endpoint.get(endpoint)
        if found is None or found.user_id != user_id:
            raise PushSubscriptionNotFound("no such push subscription")
        del self._by_endpoint[endpoint]

    async def drop(self, endpoint: str) -> None:
        self._by_endpoint.pop(endpoint, None)


class InMemorySentLog:
    """Sent keys are kept for ``keep`` (longer than any job lives in the queue), then forgotten."""

    def __init__(self, keep: dt.timedelta = dt.timedelta(days=7)) -> None:
        self._sent: dict[str, float] = {}
        self._claims: dict[str, float] = {}
        self._keep = keep.total_seconds()

    async def claim(self, key: str, ttl: dt.timedelta) -> bool:
        now = time.monotonic()
        if self._live(self._sent, key, now) or self._live(self._claims, key, now):
            return False
        self._claims[key] = now + ttl.total_seconds()
        return True

    async def release(self, key: str) -> None:
        self._claims.pop(key, None)

    async def mark_sent(self, key: str) -> None:
        self._claims.pop(key, None)
        self._sent[key] = time.monotonic() + self._keep
        if len(self._sent) % 4096 == 0:
            now = time.monotonic()
            self._sent = {k: v for k, v in self._sent.items() if v > now}

    async def sent(self, key: str) -> bool:
        return self._live(self._sent, key, time.monotonic())

    @staticmethod
    def _live(table: dict[str, float], key: str, now: float) -> bool:
        until = table.get(key)
        if until is None:
            return False
        if until <= now:
            del table[key]
            return False
        return True


class InMemoryDeliveryLimiter:
    """A fixed window per (recipient, channel): ``limit`` per ``window``."""

    def __init__(self, limit: int, window: dt.timedelta) -> None:
        self._limit, self._window = limit, window
        self._counts: dict[tuple[str, Channel], tuple[dt.datetime, int]] = {}

    async def acquire(self, recipient: str, channel: Channel, now: dt.datetime) -> dt.timedelta | None:
        key = (recipient, channel)
        start, count = self._counts.get(key, (now, 0))
        if now >= start + self._window:
            start, count = now, 0
        if count >= self._limit:
            return start + self._window - now
        self._counts[key] = (start, count + 1)
        if len(self._counts) > 100_000:
            self._counts = {k: v for k, v in self._counts.items() if v[0] + self._window > now}
        return None


class InMemoryLiveNotifications:
    def __init__(self) -> None:
        self._handlers: list[LiveHandler] = []

    async def publish(self, notification: Notification) -> None:
        for handler in list(self._handlers):
            try:
                await handler(notification)
            except Exception:
                log.exception("live notification handler failed")

    @contextlib.asynccontextmanager
    async def listen(self, handler: LiveHandler) -> AsyncIterator[None]:
        self._handlers.append(handler)
        try:
            yield
        finally:
            self._handlers.remove(handler)
            await asyncio.sleep(0)
