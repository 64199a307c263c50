"""One-time links mailed to a user: email verification and password reset.

The raw token exists only in the link (and, until relayed, in the event that asks for the email); what
is stored is its SHA-256, so a read of the token table lets nobody act.  A link is single use, expires,
and is bound to what it was issued for: a verification link to the address it was sent to, a reset link
to the account's security version (a reset, a password change or a ban makes every older reset link
void).
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import secrets

from attrs import define, frozen

from domain.shared.ids import UserId
from domain.users.model import User
from domain.users.throttling import Bucket

TOKEN_BYTES = 32
# What a well-formed token looks like (token_urlsafe of TOKEN_BYTES): anything else is refused before
# any lookup.
TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class LinkPurpose(enum.Enum):
    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def well_formed(raw: str) -> bool:
    return 32 <= len(raw) <= 64 and set(raw) <= TOKEN_CHARS


@define(kw_only=True)
class AccountLink:
    """A stored one-time link.  ``used_at`` is set once, by the confirmation that consumed it."""

    token_hash: str
    purpose: LinkPurpose
    user_id: UserId
    email: str
    security_version: int
    created_at: dt.datetime
    expires_at: dt.datetime
    used_at: dt.datetime | None = None

    def usable(self, now: dt.datetime) -> bool:
        return self.used_at is None and now < self.expires_at


@frozen(kw_only=True)
class IssuedLink:
    """A link just made: the raw token (for the email only) and what gets stored."""

    token: str
    link: AccountLink


def issue_link(purpose: LinkPurpose, *, user_id: UserId, email: str, security_version: int,
               now: dt.datetime, ttl: dt.timedelta) -> IssuedLink:
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    return IssuedLink(token=raw, link=AccountLink(
        token_hash=token_hash(raw), purpose=purpose, user_id=user_id, email=email,
        security_version=security_version, created_at=now, expires_at=now + ttl))


@frozen(kw_only=True)
class LinkPolicy:
    verify_ttl: dt.timedelta = dt.timedelta(hours=24)
    reset_ttl: dt.timedelta = dt.timedelta(minutes=30)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


@frozen(kw_only=True)
class LinkLimits:
    """How often links may be asked for.  Reset requests are counted per address as typed (whether or not
    an account has it, so a 429 tells nothing) and per client address; resends per account."""

    per_email: int = 5
    per_address: int = 20
    window: dt.timedelta = dt.timedelta(hours=1)

    def reset_buckets(self, email: str, address: str) -> tuple[Bucket, ...]:
        buckets = [Bucket("reset-email:" + _digest(email), self.per_email, self.window)]
        if address:
            buckets.append(Bucket("reset-addr:" + _digest(address), self.per_address, self.window))
        return tuple(buckets)

    def resend_buckets(self, user_id: str) -> tuple[Bucket, ...]:
        return (Bucket("verify-resend:" + _digest(user_id), self.per_email, self.window),)


def verification_link(user: User, *, now: dt.datetime, ttl: dt.timedelta) -> AccountLink:
    """A verification link for the user's current address; the user raises EmailVerificationRequested
    (store the returned link in the same unit of work)."""
    issued = issue_link(LinkPurpose.VERIFY_EMAIL, user_id=user.id, email=user.email,
                        security_version=user.security_version, now=now, ttl=ttl)
    user.request_email_verification(token=issued.token, expires_at=issued.link.expires_at, now=now)
    return issued.link


def reset_link(user: User, *, now: dt.datetime, ttl: dt.timedelta) -> AccountLink:
    issued = issue_link(LinkPurpose.RESET_PASSWORD, user_id=user.id, email=user.email,
                        security_version=user.security_version, now=now, ttl=ttl)
    user.request_password_reset(token=issued.token, expires_at=issued.link.expires_at, now=now)
    return issued.link


# Where the web client opens each link (runners/web/static); the token goes in the fragment, which
# browsers never send to a server.  The notification service builds the emailed URL with ``link_url``.
LINK_PAGES = {LinkPurpose.VERIFY_EMAIL: "/static/verify-email.html",
              LinkPurpose.RESET_PASSWORD: "/static/reset-password.html"}


def link_url(base_url: str, purpose: LinkPurpose, token: str) -> str:
    """``base_url`` is the site's public origin, e.g. ``https://meet.example.com``."""
    return f"{base_url.rstrip('/')}{LINK_PAGES[purpose]}#token={token}"
