"""Ports of the notification service (issue 13): history, preferences, reminders, push subscriptions,
the delivery queue with its idempotency log and rate limit, the channels, the live in-app feed and the
read side of users and meetings it needs.  Any method may raise Unavailable."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from attrs import frozen

from domain.notifications.facts import MeetingFacts, Recipient
from domain.notifications.jobs import DeliveryJob
from domain.notifications.model import Channel, Notification, Preferences
from domain.notifications.reminders import Reminder
from domain.shared.ids import MeetingId, UserId
from domain.shared.pagination import Page, PageRequest


class NotificationHistory(Protocol):
    """In-app notifications per user, newest first.

    - ``add`` stores each notification whose id is new and ignores ids it has (events come twice);
      returns those it stored.
    - ``list`` pages one user's notifications newest first (``unread_only`` filters); ``unread`` counts.
    - ``mark_read`` sets read_at once (a second call keeps the first time); raises
      NotificationNotFound when the id is not this user's.  ``mark_all_read`` returns how many changed.
    """

    async def add(self, *notifications: Notification) -> list[Notification]: ...
    async def list(self, user_id: UserId, page: PageRequest, unread_only: bool = False) -> Page[Notification]: ...
    async def unread(self, user_id: UserId) -> int: ...
    async def mark_read(self, user_id: UserId, notification_id: str, at: dt.datetime) -> Notification: ...
    async def mark_all_read(self, user_id: UserId, at: dt.datetime) -> int: ...


class PreferenceStore(Protocol):
    """``get`` returns the stored preferences or the defaults (``Preferences(user_id=...)``);
    ``put`` replaces them; ``get_many`` is ``get`` for several users at once."""

    async def get(self, user_id: UserId) -> Preferences: ...
    async def get_many(self, user_ids: Sequence[UserId]) -> dict[UserId, Preferences]: ...
    async def put(self, preferences: Preferences) -> None: ...


class ReminderStore(Protocol):
    """Planned reminders, durable across restarts.

    - ``replace(meeting_id, reminders)``: the meeting's pending reminders become exactly these, except
      that an id already fired is not stored again.  ``cancel(meeting_id)`` drops its pending ones.
    - ``claim_due(now, limit, lease)`` hands out pending reminders with fire_at <= now that nobody
      holds, oldest first, and holds them until ``now + lease``; concurrent claimers never get the same
      reminder while the lease runs (a claimer that died lets it go to another after the lease).
    - ``mark_fired(ids, at)``: fired reminders are never claimed again.
    - ``pending(meeting_id)`` lists the meeting's pending reminders by fire_at (for views and tests).
    """

    async def replace(self, meeting_id: MeetingId, reminders: Sequence[Reminder]) -> None: ...
    async def cancel(self, meeting_id: MeetingId) -> None: ...
    async def claim_due(self, now: dt.datetime, limit: int, lease: dt.timedelta) -> list[Reminder]: ...
    async def mark_fired(self, ids: Sequence[str], at: dt.datetime) -> None: ...
    async def pending(self, meeting_id: MeetingId) -> list[Reminder]: ...


@frozen(kw_only=True)
class PushSubscription:
    """A browser's Web Push subscription (the PushSubscription JSON): endpoint and its keys."""

    user_id: UserId
    endpoint: str
    p256dh: str
    auth: str


class PushSubscriptions(Protocol):
    """Subscriptions per user, keyed by endpoint: ``add`` replaces one with the same endpoint (a browser
    moving to another account takes its endpoint along); ``remove(user_id, endpoint)`` raises
    PushSubscriptionNotFound when that user has no such endpoint; ``drop(endpoint)`` removes it for
    whoever holds it, silently (the push service said it is gone)."""

    async def add(self, subscription: PushSubscription) -> None: ...
    async def of_user(self, user_id: UserId) -> list[PushSubscription]: ...
    async def remove(self, user_id: UserId, endpoint: str) -> None: ...
    async def drop(self, endpoint: str) -> None: ...


@frozen(kw_only=True)
class Lease:
    """A job handed to one worker; ``token`` is what the queue needs to settle it."""

    job: DeliveryJob
    token: str


class JobQueue(Protocol):
    """Delivery jobs, at least once.

    - ``put(*jobs, at=None)``: each job becomes available at ``at`` (now when None).
    - ``take(worker, limit, wait)`` returns up to ``limit`` available jobs, waiting up to ``wait``
      seconds for one; a taken job is invisible to others until settled, or until the worker that took
      it has been silent for the queue's lease time (it died): then another worker gets it again.
    - Settle each lease exactly once: ``done`` drops it; ``retry(lease, job, at)`` puts ``job`` (the
      job with its new attempt count) back for ``at``; ``dead(lease, error)`` moves it to the dead
      letters (``dead_letters`` lists them, oldest first).
    """

    async def put(self, *jobs: DeliveryJob, at: dt.datetime | None = None) -> None: ...
    async def take(self, worker: str, limit: int, wait: float) -> list[Lease]: ...
    async def done(self, lease: Lease) -> None: ...
    async def retry(self, lease: Lease, job: DeliveryJob, at: dt.datetime) -> None: ...
    async def dead(self, lease: Lease, error: str) -> None: ...
    async def dead_letters(self, limit: int = 100) -> list[tuple[DeliveryJob, str]]: ...


class SentLog(Protocol):
    """Idempotency of deliveries by job key.

    - ``claim(key, ttl)`` is True for exactly one caller while nobody holds the key and it was never
      marked sent; the claim lapses after ``ttl`` (a sender that died).  ``release(key)`` gives up a
      claim (the send failed); ``mark_sent(key)`` makes every later ``claim`` False and ``sent`` True.
    """

    async def claim(self, key: str, ttl: dt.timedelta) -> bool: ...
    async def release(self, key: str) -> None: ...
    async def mark_sent(self, key: str) -> None: ...
    async def sent(self, key: str) -> bool: ...


class DeliveryLimiter(Protocol):
    """At most ``limit`` messages per ``window`` per (recipient, channel): ``acquire`` counts one and
    returns None, or counts nothing and returns how long to wait until one is allowed."""

    async def acquire(self, recipient: str, channel: Channel, now: dt.datetime) -> dt.timedelta | None: ...


class ChannelSender(Protocol):
    """Sends a job on one channel.  Raises DeliveryRejected (permanent: do not retry), DeliveryFailed
    or Unavailable (transient: retry later), RecipientGone (the address no longer exists)."""

    channel: Channel

    async def send(self, job: DeliveryJob) -> None: ...


LiveHandler = Callable[[Notification], Awaitable[None]]


class LiveNotifications(Protocol):
    """At-most-once fan-out of new in-app notifications to every process holding sockets:
    ``publish`` reaches each handler registered with ``listen`` (in any process) while it listens."""

    async def publish(self, notification: Notification) -> None: ...
    def listen(self, handler: LiveHandler) -> AbstractAsyncContextManager[None]: ...


class Directory(Protocol):
    """The users and meetings as the notification service reads them: None for an unknown id;
    ``recipient_by_email`` finds only an account whose address is verified."""

    async def recipient(self, user_id: UserId) -> Recipient | None: ...
    async def recipient_by_email(self, email: str) -> Recipient | None: ...
    async def meeting(self, meeting_id: MeetingId) -> MeetingFacts | None: ...
