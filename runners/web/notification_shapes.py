"""Request and reply models of the notification routes (kept beside, not inside, bodies.py and
replies.py so that the streams editing those merge cleanly)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field, model_validator

from domain.notifications.model import Channel, Kind, Notification as NotificationEntity
from domain.notifications.model import Preferences as PreferencesValue
from domain.notifications.model import QuietHours
from domain.notifications.service import Inbox
from runners.shapes import Id, NullableStamp, Shape, Stamp, text
from runners.web.replies import Reply

KindName = Literal[tuple(k.value for k in Kind)]  # type: ignore[valid-type]
ChannelName = Literal[tuple(c.value for c in Channel)]  # type: ignore[valid-type]
ClockTime = text(5, 5, pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM, 24-hour")


class Notification(Reply):
    id: Id
    kind: KindName
    title: str
    body: str
    link: str | None
    data: dict[str, Any]
    created_at: Stamp
    read_at: NullableStamp

    @classmethod
    def of(cls, n: NotificationEntity) -> Notification:
        return cls.make(id=n.id, kind=n.kind.value, title=n.title, body=n.body, link=n.link, data=n.data,
                        created_at=n.created_at, read_at=n.read_at)


class NotificationPage(Reply):
    items: list[Notification]
    total: int
    offset: int
    limit: int
    unread: int = Field(description="the caller's unread notifications in all (not only this page)")

    @classmethod
    def of(cls, inbox: Inbox) -> NotificationPage:
        p = inbox.page
        return cls.make(items=[Notification.of(n) for n in p.items], total=p.total, offset=p.offset,
                        limit=p.limit, unread=inbox.unread)


class ReadAll(Reply):
    updated: int


class QuietHoursShape(Shape):
    start: ClockTime
    end: ClockTime


def _hhmm(t: dt.time) -> str:
    return t.strftime("%H:%M")


def _time(s: str) -> dt.time:
    hours, minutes = s.split(":")
    return dt.time(int(hours), int(minutes))


class Preferences(Reply):
    channels: dict[KindName, list[ChannelName]] = Field(
        description="for every kind, the channels it goes out on (security kinds always include email)")
    quiet_hours: QuietHoursShape | None
    timezone: str
    locale: str
    reminder_minutes: int
    phone: str | None

    @classmethod
    def of(cls, p: PreferencesValue) -> Preferences:
        quiet = QuietHoursShape.model_construct(start=_hhmm(p.quiet_hours.start), end=_hhmm(p.quiet_hours.end)) \
            if p.quiet_hours else None
        return cls.make(channels={k.value: sorted(c.value for c in p.channels_for(k)) for k in Kind},
                        quiet_hours=quiet, timezone=p.timezone, locale=p.locale,
                        reminder_minutes=p.reminder_minutes, phone=p.phone)


class PreferencesRequest(Shape):
    """Only the fields sent change; ``channels`` replaces the channels of the kinds it names."""

    channels: dict[KindName, list[ChannelName]] = None  # type: ignore[assignment]
    quiet_hours: QuietHoursShape | None = None
    timezone: text(64, 1) = None
    locale: text(16, 1) = None
    reminder_minutes: int = None  # type: ignore[assignment]
    phone: text(16, 1) | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> Any:
        if not self.model_fields_set:
            raise ValueError("send at least one field")
        return self

    def changes(self, current: PreferencesValue) -> dict[str, Any]:
        out: dict[str, Any] = {}
        sent = self.model_fields_set
        if "channels" in sent and self.channels is not None:
            out["channels"] = {**current.channels, **{Kind(k): frozenset(Channel(c) for c in v)
                                                      for k, v in self.channels.items()}}
        if "quiet_hours" in sent:
            q = self.quiet_hours
            out["quiet_hours"] = QuietHours(_time(q.start), _time(q.end)) if q is not None else None
        for name in ("timezone", "locale", "reminder_minutes"):
            if name in sent and getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if "phone" in sent:
            out["phone"] = self.phone
        return out


class PushKeys(Shape):
    p256dh: text(200, 1)
    auth: text(100, 1)


class PushSubscriptionRequest(Shape):
    """The browser's PushSubscription.toJSON() (``expirationTime`` is accepted and ignored)."""

    endpoint: text(2048, 1, pattern=r"^https?://")
    keys: PushKeys
    expirationTime: int | None = None  # noqa: N815 (the browser's own name)


class PushSubscriptionReply(Reply):
    endpoint: str


class PushKey(Reply):
    public_key: str | None = Field(description="the VAPID public key for PushManager.subscribe, or null "
                                               "when this server sends no Web Push")


class Unsubscribed(Reply):
    kind: KindName
    channel: ChannelName
