"""The User aggregate and the rules for its fields."""

from __future__ import annotations

import datetime as dt
import enum
import re

from attrs import define, evolve, field, frozen

from domain.shared import text
from domain.shared.events import DomainEvent
from domain.shared.ids import UserId
from domain.users import events
from domain.users.errors import EmailAlreadyVerified, InvalidUserData, WeakPassword

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$")
# Deliberately simple: one @, a dot in the domain, no spaces. Deliverability is the mailer's job.
EMAIL_RE = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]{2,}$")
PASSWORD_MIN, PASSWORD_MAX = 8, 128
DISPLAY_NAME_MAX = 64
COMMON_PASSWORDS = frozenset(
    {"password", "password1", "12345678", "123456789", "1234567890", "qwertyuiop", "iloveyou",
     "11111111", "00000000", "abcdefgh", "qwerty123", "letmein1", "welcome1", "admin123",
     "passw0rd", "football", "baseball", "sunshine", "princess", "trustno1"}
)


class Role(enum.Enum):
    USER = "user"
    ADMIN = "admin"


def normalize_username(raw: str) -> str:
    name = text.nfkc(raw).strip()  # full-width "ａｌｉｃｅ" is "alice"; other scripts fail the regex
    if not USERNAME_RE.fullmatch(name):
        raise InvalidUserData(
            "username must be 3-32 characters: letters, digits, '_', '.', '-', starting with a letter or digit",
            field="username",
        )
    return name


def normalize_email(raw: str) -> str:
    email = raw.strip().lower()
    if len(email) > 254 or not EMAIL_RE.fullmatch(email):
        raise InvalidUserData("email is not a valid address", field="email")
    return email


def normalize_display_name(raw: str) -> str:
    try:
        name = text.person_name(raw)  # NFKC, nothing invisible, not like a reserved name (domain/shared/text.py)
    except text.TextRejected as err:
        raise InvalidUserData(str(err), field="display_name") from None
    if not 1 <= len(name) <= DISPLAY_NAME_MAX:
        raise InvalidUserData(f"display name must be 1-{DISPLAY_NAME_MAX} characters", field="display_name")
    return name


def check_password_policy(password: str, *, username: str, email: str) -> None:
    """Length over complexity (NIST SP 800-63B): 8-128 characters, not common, not the identity."""
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise WeakPassword(f"password must be {PASSWORD_MIN}-{PASSWORD_MAX} characters", field="password")
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(password)) < 4:
        raise WeakPassword("password is too common or repetitive", field="password")
    if lowered in (username.lower(), email.lower(), email.split("@")[0].lower()):
        raise WeakPassword("password must not be your username or email", field="password")


@frozen
class Credentials:
    """What login needs besides the public profile."""

    password_hash: str


@define(kw_only=True)
class User:
    """A registered account.

    Invariants: ``username`` matches USERNAME_RE and ``email`` is lower-case; both are unique across
    users (case-insensitively for usernames, enforced by the repository).  A banned user cannot log in
    and all of its sessions are revoked at the moment of the ban.  ``security_version`` goes up with
    every change that must end the user's sessions (password, ban, role); sessions carry the version
    they were issued at.  A new email is unverified: it grants nothing until verified.
    """

    id: UserId
    username: str
    email: str
    password_hash: str = field(repr=False)
    display_name: str
    role: Role = Role.USER
    banned: bool = False
    security_version: int = 0
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int = 0
    # False from sign-up and after an email change until a verification link is confirmed (True is the
    # default for rows stored before verification existed: migration 0005 counted those as verified).
    email_verified: bool = True
    _events: list[DomainEvent] = field(factory=list, eq=False, repr=False, alias="_events")

    @classmethod
    def register(
        cls, *, user_id: UserId, username: str, email: str, password_hash: str, display_name: str | None,
        now: dt.datetime, role: Role = Role.USER, email_verified: bool = False,
    ) -> User:
        user = cls(
            id=user_id, username=username, email=email, password_hash=password_hash,
            display_name=display_name or username, role=role, created_at=now, updated_at=now,
            email_verified=email_verified,
        )
        user._events.append(events.UserRegistered(occurred_at=now, user_id=user_id, username=username, email=email))
        return user

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def invitation_email(self) -> str | None:
        """The address invitations (and later notifications) may bind to: only a verified one."""
        return self.email if self.email_verified else None

    def update_profile(self, *, now: dt.datetime, username: str | None = None, email: str | None = None,
                       display_name: str | None = None) -> None:
        changed = []
        for name, value in (("username", username), ("email", email), ("display_name", display_name)):
            if value is not None and getattr(self, name) != value:
                setattr(self, name, value)
                changed.append(name)
        if "email" in changed:
            self.email_verified = False
        if changed:
            self.updated_at = now
            self._events.append(events.UserUpdated(occurred_at=now, user_id=self.id, fields=tuple(changed)))

    def change_password(self, password_hash: str, *, now: dt.datetime, reset: bool = False) -> None:
        self.password_hash = password_hash
        self.updated_at = now
        self._events.append(events.UserUpdated(occurred_at=now, user_id=self.id, fields=("password",)))
        self._events.append(events.PasswordChanged(occurred_at=now, user_id=self.id, reset=reset))
        self._end_sessions("password_reset" if reset else "password_changed", now)

    def request_email_verification(self, *, token: str, expires_at: dt.datetime, now: dt.datetime) -> None:
        """Asks for a link to the current address (the caller stores the link's hash with this change)."""
        if self.email_verified:
            raise EmailAlreadyVerified("this email address is verified already")
        self._events.append(events.EmailVerificationRequested(
            occurred_at=now, user_id=self.id, email=self.email, token=token, expires_at=expires_at))

    def verify_email(self, email: str, *, now: dt.datetime) -> bool:
        """Marks ``email`` verified if it is still the account's address; returns whether it is."""
        if email != self.email:
            return False
        if not self.email_verified:
            self.email_verified = True
            self.updated_at = now
            self._events.append(events.EmailVerified(occurred_at=now, user_id=self.id, email=email))
        return True

    def request_password_reset(self, *, token: str, expires_at: dt.datetime, now: dt.datetime) -> None:
        self._events.append(events.PasswordResetRequested(
            occurred_at=now, user_id=self.id, email=self.email, token=token, expires_at=expires_at))

    def set_role(self, role: Role, *, now: dt.datetime) -> None:
        if role is not self.role:
            self.role = role
            self.updated_at = now
            self._events.append(events.UserUpdated(occurred_at=now, user_id=self.id, fields=("role",)))
            self._end_sessions("role_changed", now)

    def ban(self, *, by: UserId, now: dt.datetime) -> None:
        if not self.banned:
            self.banned = True
            self.updated_at = now
            self._events.append(events.UserBanned(occurred_at=now, user_id=self.id, by=by))
            self._end_sessions("banned", now)

    def _end_sessions(self, reason: str, now: dt.datetime) -> None:
        """A new security version: every session and token issued before it is dead (checked at issue
        and at use); the announcement commits with the change that caused it."""
        self.security_version += 1
        self._events.append(events.SessionsRevoked(occurred_at=now, user_id=self.id, reason=reason,
                                                   security_version=self.security_version))

    def unban(self, *, by: UserId, now: dt.datetime) -> None:
        if self.banned:
            self.banned = False
            self.updated_at = now
            self._events.append(events.UserUnbanned(occurred_at=now, user_id=self.id, by=by))

    def pull_events(self) -> list[DomainEvent]:
        out, self._events = self._events, []
        return out

    def copy(self) -> User:
        return evolve(self, _events=[])
