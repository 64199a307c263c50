"""The notification service: turns domain events and due reminders into in-app notifications and
delivery jobs, and serves each user their history and preferences."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from attrs import define, frozen

from domain.notifications.facts import MeetingFacts, Recipient
from domain.notifications.jobs import DeliveryJob
from domain.notifications.model import ADDRESS_ONLY, SECURITY, Channel, Kind, Notification, Preferences
from domain.notifications.policy import (Intent, intents_for, meeting_params, needs_meeting, reminder_plan_changes,
                                         reminders_end)
from domain.notifications.reminders import plan
from domain.notifications.templates import render
from domain.notifications import unsubscribe
from domain.shared.actor import Actor
from domain.shared.errors import Unavailable
from domain.shared.events import DomainEvent
from domain.shared.ids import MeetingId, UserId
from domain.shared.pagination import Page, PageRequest
from ports.clock import Clock
from ports.notifications import (Directory, JobQueue, LiveNotifications, NotificationHistory, PreferenceStore,
                                 PushSubscription, PushSubscriptions, ReminderStore)

log = logging.getLogger(__name__)
_NS = uuid.UUID("6f1c7f43-7c1e-4b7e-9f59-3c1f0a5d2b11")


@frozen(kw_only=True)
class Links:
    """Absolute links in messages: ``base_url`` is the web client's public address."""

    base_url: str
    unsubscribe_secret: bytes

    def page(self, path: str | None) -> str | None:
        return None if path is None else self.base_url.rstrip("/") + path

    def unsubscribe(self, user_id: UserId, kind: Kind, channel: Channel) -> str:
        token = unsubscribe.sign(self.unsubscribe_secret, user_id, kind, channel)
        return f"{self.base_url.rstrip('/')}/api/v1/notifications/unsubscribe?token={token}"


@frozen
class Inbox:
    page: Page[Notification]
    unread: int


@define(kw_only=True)
class NotificationService:
    """Rules:
    - who hears about what is the policy's (domain/notifications/policy.py); each person's channels,
      quiet hours and locale are their Preferences; a banned user gets only the ban notice;
    - an invitation to an address with an account goes to that account; without one, an email with a
      sign-up link;
    - everything derived from one event (or one reminder) has fixed ids and idempotency keys, so
      handling it twice stores and sends nothing twice;
    - reminders are planned when who is reminded or when the meeting starts changes, and dropped when
      it is cancelled, deleted, started or ended; a reminder that fires checks the meeting again;
    - users see and change only their own notifications and preferences."""

    history: NotificationHistory
    preferences: PreferenceStore
    reminders: ReminderStore
    queue: JobQueue
    live: LiveNotifications
    directory: Directory
    subscriptions: PushSubscriptions
    clock: Clock
    links: Links
    reminder_lease: dt.timedelta = dt.timedelta(seconds=60)

    # -- events -------------------------------------------------------------------------------------
    async def on_event(self, event: DomainEvent) -> None:
        meeting_id = needs_meeting(event)
        meeting = await self.directory.meeting(meeting_id) if meeting_id is not None else None
        if reminders_end(event):
            await self.reminders.cancel(MeetingId(getattr(event, "meeting_id")))
        elif meeting is not None and reminder_plan_changes(event):
            await self.plan_reminders(meeting)
        for intent in intents_for(event, meeting):
            await self.notify(intent, cause=event.event_id, origin=event.occurred_at)

    async def plan_reminders(self, meeting: MeetingFacts) -> None:
        prefs = await self.preferences.get_many(sorted(meeting.reminded))
        minutes = {u: p.reminder_minutes for u, p in prefs.items()}
        await self.reminders.replace(meeting.id, plan(meeting, minutes, self.clock.now()))

    async def fire_due_reminders(self, limit: int = 100) -> int:
        now = self.clock.now()
        due = await self.reminders.claim_due(now, limit, self.reminder_lease)
        for r in due:
            meeting = await self.directory.meeting(r.meeting_id)
            still = (meeting is not None and meeting.open and r.user_id in meeting.reminded
                     and meeting.start_time - dt.timedelta(minutes=r.minutes) == r.fire_at)
            if still:
                assert meeting is not None
                await self.notify(Intent(kind=Kind.MEETING_REMINDER, user_id=r.user_id,
                                         path=f"/meetings/{meeting.id}",
                                         params=meeting_params(meeting) | {"minutes": r.minutes}),
                                  cause=f"reminder:{r.id}", origin=r.fire_at)
        if due:
            await self.reminders.mark_fired([r.id for r in due], now)
        return len(due)

    async def notify(self, intent: Intent, *, cause: str, origin: dt.datetime) -> None:
        recipient = await self._recipient(intent)
        if recipient is None and intent.email is None:
            return  # an unknown or deleted user
        if recipient is not None and not recipient.active and intent.kind is not Kind.ACCOUNT_BANNED:
            return
        prefs = await self.preferences.get(recipient.user_id) if recipient is not None else None
        if intent.kind in ADDRESS_ONLY or prefs is None:
            channels = frozenset({Channel.EMAIL})
        else:
            channels = prefs.channels_for(intent.kind)
        sign_up = recipient is None
        path = intent.path
        if recipient is not None and intent.user_id is None and intent.kind is Kind.MEETING_INVITATION:
            path = f"/meetings/{intent.params['meeting_id']}"  # the address has an account: no sign-up
        who = recipient.user_id if recipient is not None else intent.email
        now = self.clock.now()
        for channel in sorted(channels, key=lambda c: c.value):
            key = f"{cause}:{intent.kind.value}:{who}:{channel.value}"
            link = self.links.page(path)
            params: dict[str, Any] = dict(intent.params) | {"link": link or ""}
            unsub = None
            if channel is Channel.EMAIL and recipient is not None and intent.kind not in SECURITY:
                unsub = self.links.unsubscribe(recipient.user_id, intent.kind, channel)
                params["unsubscribe"] = unsub
            text = render(intent.kind, prefs.locale if prefs else "en", params, sign_up=sign_up)
            if channel is Channel.IN_APP:
                assert recipient is not None
                await self._in_app(recipient.user_id, intent, text.title, text.text, path, key)
                continue
            address = (intent.email or (recipient.email if recipient else None)) if channel is Channel.EMAIL \
                else (prefs.phone if channel is Channel.SMS and prefs else None)
            if channel in (Channel.EMAIL, Channel.SMS) and not address:
                continue
            at = prefs.send_at(intent.kind, channel, now) if prefs is not None else now
            if at > now and intent.kind is Kind.MEETING_REMINDER:
                continue  # a reminder after quiet hours would come after the meeting started
            job = DeliveryJob(key=key, channel=channel, kind=intent.kind,
                              user_id=recipient.user_id if recipient else None, address=address,
                              title=text.title, text=text.text, html=text.html, link=link,
                              unsubscribe_url=unsub, origin=origin)
            await self.queue.put(job, at=at if at > now else None)

    async def _recipient(self, intent: Intent) -> Recipient | None:
        if intent.user_id is not None:
            return await self.directory.recipient(intent.user_id)
        if intent.email is not None:
            return await self.directory.recipient_by_email(intent.email)
        return None

    async def _in_app(self, user_id: UserId, intent: Intent, title: str, body: str, path: str | None,
                      key: str) -> None:
        data = {k: v for k, v in intent.params.items() if k in ("meeting_id", "role", "item_id")}
        n = Notification(id=str(uuid.uuid5(_NS, key)), user_id=user_id, kind=intent.kind, title=title,
                         body=body, link=path, data=data, created_at=self.clock.now())
        stored = await self.history.add(n)
        if stored:
            try:
                await self.live.publish(n)
            except Unavailable:
                log.warning("live notification not pushed (the user sees it on the next fetch)")

    # -- users --------------------------------------------------------------------------------------
    async def inbox(self, actor: Actor, page: PageRequest, unread_only: bool = False) -> Inbox:
        return Inbox(await self.history.list(actor.user_id, page, unread_only),
                     await self.history.unread(actor.user_id))

    async def mark_read(self, actor: Actor, notification_id: str) -> Notification:
        """Raises NotificationNotFound unless the notification is the actor's."""
        return await self.history.mark_read(actor.user_id, notification_id, self.clock.now())

    async def mark_all_read(self, actor: Actor) -> int:
        return await self.history.mark_all_read(actor.user_id, self.clock.now())

    async def preferences_of(self, actor: Actor) -> Preferences:
        return await self.preferences.get(actor.user_id)

    async def set_preferences(self, actor: Actor, **changes: Any) -> Preferences:
        """Raises InvalidPreferences for a value that breaks Preferences' invariants."""
        current = await self.preferences.get(actor.user_id)
        updated = current.changed(**changes)
        await self.preferences.put(updated)
        return updated

    async def unsubscribe(self, token: str) -> tuple[Kind, Channel]:
        """Raises InvalidUnsubscribeToken for a token this service did not sign."""
        user_id, kind, channel = unsubscribe.verify(self.links.unsubscribe_secret, token)
        await self.preferences.put((await self.preferences.get(user_id)).unsubscribed(kind, channel))
        return kind, channel

    async def subscribe_push(self, actor: Actor, endpoint: str, p256dh: str, auth: str) -> PushSubscription:
        sub = PushSubscription(user_id=actor.user_id, endpoint=endpoint, p256dh=p256dh, auth=auth)
        await self.subscriptions.add(sub)
        return sub

    async def unsubscribe_push(self, actor: Actor, endpoint: str) -> None:
        """Raises PushSubscriptionNotFound when the actor has no such subscription."""
        await self.subscriptions.remove(actor.user_id, endpoint)
