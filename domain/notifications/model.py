"""Notification values: kinds, channels, the stored in-app notification, per-user preferences."""

from __future__ import annotations

import datetime as dt
import enum
import re
import zoneinfo
from collections.abc import Mapping
from typing import Any

from attrs import define, evolve, field, frozen

from domain.notifications.errors import InvalidPreferences
from domain.shared.ids import UserId


class Kind(enum.Enum):
    MEETING_INVITATION = "meeting_invitation"
    MEETING_CHANGED = "meeting_changed"
    MEETING_CANCELLED = "meeting_cancelled"
    MEETING_REMINDER = "meeting_reminder"
    RECORDING_READY = "recording_ready"
    TRANSCRIPT_READY = "transcript_ready"
    REMOVED_FROM_MEETING = "removed_from_meeting"
    ROLE_CHANGED = "role_changed"
    PASSWORD_CHANGED = "password_changed"
    NEW_SIGN_IN = "new_sign_in"
    ACCOUNT_BANNED = "account_banned"
    EMAIL_VERIFICATION = "email_verification"
    PASSWORD_RESET = "password_reset"


class Channel(enum.Enum):
    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"
    IN_APP = "in_app"


# Account-security mail a user cannot turn off (nor unsubscribe from), and that quiet hours never delay:
# a password reset link that arrives in eight hours is useless, a ban notice must not wait.
SECURITY: frozenset[Kind] = frozenset({Kind.PASSWORD_CHANGED, Kind.NEW_SIGN_IN, Kind.ACCOUNT_BANNED,
                                       Kind.EMAIL_VERIFICATION, Kind.PASSWORD_RESET})
# Sent to an address, not a person's inbox of notifications: no in-app copy, no preferences apply.
ADDRESS_ONLY: frozenset[Kind] = frozenset({Kind.EMAIL_VERIFICATION, Kind.PASSWORD_RESET})
E, S, P, I = Channel.EMAIL, Channel.SMS, Channel.PUSH, Channel.IN_APP
DEFAULT_CHANNELS: Mapping[Kind, frozenset[Channel]] = {
    Kind.MEETING_INVITATION: frozenset({E, P, I}),
    Kind.MEETING_CHANGED: frozenset({E, P, I}),
    Kind.MEETING_CANCELLED: frozenset({E, P, I}),
    Kind.MEETING_REMINDER: frozenset({E, P, I}),
    Kind.RECORDING_READY: frozenset({E, I}),
    Kind.TRANSCRIPT_READY: frozenset({E, I}),
    Kind.REMOVED_FROM_MEETING: frozenset({I}),
    Kind.ROLE_CHANGED: frozenset({I}),
    Kind.PASSWORD_CHANGED: frozenset({E, I}),
    Kind.NEW_SIGN_IN: frozenset({E, I}),
    Kind.ACCOUNT_BANNED: frozenset({E}),
    Kind.EMAIL_VERIFICATION: frozenset({E}),
    Kind.PASSWORD_RESET: frozenset({E}),
}
SUPPORTED_LOCALES = ("en",)
PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")  # E.164
MAX_REMINDER_MINUTES = 24 * 60


@frozen
class QuietHours:
    """A daily window in the user's timezone (may wrap midnight: 22:00-07:00) when nothing but
    security mail goes out; what falls inside waits for its end."""

    start: dt.time
    end: dt.time

    def holds(self, at: dt.datetime, tz: str) -> bool:
        local = at.astimezone(zoneinfo.ZoneInfo(tz)).time().replace(tzinfo=None)
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def ends_after(self, at: dt.datetime, tz: str) -> dt.datetime:
        """The first instant at or after ``at`` outside the window (``at`` itself when outside)."""
        if not self.holds(at, tz):
            return at
        zone = zoneinfo.ZoneInfo(tz)
        local = at.astimezone(zone)
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if end <= local:
            end += dt.timedelta(days=1)
        # Wall-clock arithmetic then re-resolved: a DST jump moves the end by the jump, never earlier.
        return end.replace(tzinfo=None).replace(tzinfo=zone).astimezone(dt.timezone.utc)


@define(kw_only=True)
class Preferences:
    """What one user wants: channels per kind (defaults in DEFAULT_CHANNELS), quiet hours, timezone,
    locale, how many minutes before a meeting a reminder comes (0: none), a phone for SMS.

    Invariants: security kinds always include email; the timezone is a known IANA zone; the locale is
    supported; minutes in 0..1440; the phone is E.164 or None.  SMS is never on without a phone."""

    user_id: UserId
    channels: dict[Kind, frozenset[Channel]] = field(factory=dict)
    quiet_hours: QuietHours | None = None
    timezone: str = "UTC"
    locale: str = "en"
    reminder_minutes: int = 10
    phone: str | None = None

    def __attrs_post_init__(self) -> None:
        validate(self)

    def channels_for(self, kind: Kind) -> frozenset[Channel]:
        chosen = self.channels.get(kind, DEFAULT_CHANNELS[kind])
        if kind in SECURITY:
            chosen = chosen | {Channel.EMAIL}
        if self.phone is None:
            chosen = chosen - {Channel.SMS}
        return frozenset(chosen)

    def send_at(self, kind: Kind, channel: Channel, now: dt.datetime) -> dt.datetime:
        """When a message of this kind may go out on this channel: in-app and security at once."""
        if self.quiet_hours is None or kind in SECURITY or channel is Channel.IN_APP:
            return now
        return self.quiet_hours.ends_after(now, self.timezone)

    def unsubscribed(self, kind: Kind, channel: Channel) -> Preferences:
        return self.changed(channels={**self.channels, kind: self.channels_for(kind) - {channel}})

    def changed(self, **changes: Any) -> Preferences:
        return evolve(self, **changes)


def validate(p: Preferences) -> None:
    for kind, chosen in p.channels.items():
        if kind in SECURITY and Channel.EMAIL not in chosen:
            raise InvalidPreferences(f"{kind.value} always goes by email", field="channels")
    try:
        zoneinfo.ZoneInfo(p.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidPreferences(f"unknown timezone {p.timezone[:64]!r}", field="timezone") from None
    if p.locale not in SUPPORTED_LOCALES:
        raise InvalidPreferences(f"locale must be one of {', '.join(SUPPORTED_LOCALES)}", field="locale")
    if not 0 <= p.reminder_minutes <= MAX_REMINDER_MINUTES:
        raise InvalidPreferences(f"reminder_minutes must be within 0..{MAX_REMINDER_MINUTES}",
                                 field="reminder_minutes")
    if p.phone is not None and not PHONE.match(p.phone):
        raise InvalidPreferences("phone must be in E.164 form (+15551234567)", field="phone")


@define(kw_only=True)
class Notification:
    """An in-app notification: what one user sees in the bell.  ``read_at`` is set once."""

    id: str
    user_id: UserId
    kind: Kind
    title: str
    body: str
    link: str | None = None
    data: dict[str, Any] = field(factory=dict)
    created_at: dt.datetime
    read_at: dt.datetime | None = None

    @property
    def read(self) -> bool:
        return self.read_at is not None
