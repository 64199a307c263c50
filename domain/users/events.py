from __future__ import annotations

import datetime as dt
from typing import ClassVar

from attrs import field, frozen

from domain.shared.events import DomainEvent


@frozen(kw_only=True)
class UserRegistered(DomainEvent):
    name: ClassVar[str] = "user.registered"
    user_id: str
    username: str
    email: str


@frozen(kw_only=True)
class UserUpdated(DomainEvent):
    name: ClassVar[str] = "user.updated"
    user_id: str
    fields: tuple[str, ...]


@frozen(kw_only=True)
class UserBanned(DomainEvent):
    name: ClassVar[str] = "user.banned"
    user_id: str
    by: str


@frozen(kw_only=True)
class UserUnbanned(DomainEvent):
    name: ClassVar[str] = "user.unbanned"
    user_id: str
    by: str


@frozen(kw_only=True)
class UserLoggedIn(DomainEvent):
    """``new_client``: the login came from a client (browser) this account had not used recently
    (no valid known-client token): the notification service tells the owner."""

    name: ClassVar[str] = "user.logged_in"
    user_id: str
    session_id: str
    new_client: bool = False


@frozen(kw_only=True)
class UserLoggedOut(DomainEvent):
    name: ClassVar[str] = "user.logged_out"
    user_id: str
    session_id: str


@frozen(kw_only=True)
class SessionsRevoked(DomainEvent):
    """Sessions of ``user_id`` ended: the one named by ``session_id`` (logout, a reused refresh
    token), or, when it is None, every session below ``security_version`` (password change, ban,
    role change).  Whoever holds connections of those sessions closes them now."""

    name: ClassVar[str] = "user.sessions_revoked"
    user_id: str
    reason: str
    session_id: str | None = None
    security_version: int | None = None


@frozen(kw_only=True)
class AccountLinkRequested(DomainEvent):
    """``email`` should receive a link carrying ``token`` (valid until ``expires_at``, single use).
    The token is a secret: outboxes blank it once the event is relayed (``secret_fields``).  Not an
    event of its own (it has no ``name``): the two kinds of link below are."""

    secret_fields: ClassVar[tuple[str, ...]] = ("token",)
    user_id: str
    email: str
    token: str = field(repr=False)
    expires_at: dt.datetime


@frozen(kw_only=True)
class EmailVerificationRequested(AccountLinkRequested):
    name: ClassVar[str] = "user.email_verification_requested"


@frozen(kw_only=True)
class EmailVerified(DomainEvent):
    name: ClassVar[str] = "user.email_verified"
    user_id: str
    email: str


@frozen(kw_only=True)
class PasswordResetRequested(AccountLinkRequested):
    """Raised only for existing active accounts."""

    name: ClassVar[str] = "user.password_reset_requested"


@frozen(kw_only=True)
class PasswordChanged(DomainEvent):
    """The password of ``user_id`` changed (by its owner, or by a reset link: ``reset``)."""

    name: ClassVar[str] = "user.password_changed"
    user_id: str
    reset: bool = False
