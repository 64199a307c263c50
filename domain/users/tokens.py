"""Sessions and the claims inside tokens.

A *session* is one login: it owns a refresh-token family.  Each refresh rotates the family's current
refresh id; presenting any earlier id of the family is treated as theft and revokes the whole session.
Every access token names its session, so revoking a session (logout, ban, password or role change)
stops its access tokens at once: a token is accepted only while its session is live, which makes a
token denylist redundant.

Sessions and access tokens carry the user's *security version* (bumped by a password change, a ban or
a role change).  The session store refuses a session older than the version it was last revoked at,
so a login that read the user before a revocation and finishes after it creates nothing.
"""

from __future__ import annotations

import datetime as dt

from attrs import frozen

from domain.shared.actor import Actor
from domain.shared.ids import UserId
from domain.users.model import Role


@frozen(kw_only=True)
class AccessClaims:
    user_id: UserId
    role: Role
    session_id: str
    token_id: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    security_version: int = 0


@frozen(kw_only=True)
class RefreshClaims:
    user_id: UserId
    session_id: str
    token_id: str
    issued_at: dt.datetime
    expires_at: dt.datetime


@frozen(kw_only=True)
class Session:
    id: str
    user_id: UserId
    refresh_token_id: str
    created_at: dt.datetime
    expires_at: dt.datetime
    security_version: int = 0


@frozen(kw_only=True)
class Principal:
    """The authenticated caller of a request, as proven by an access token."""

    user_id: UserId
    role: Role
    session_id: str
    token_id: str
    expires_at: dt.datetime
    security_version: int = 0

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def actor(self) -> Actor:
        return Actor(self.user_id, self.is_admin)


@frozen(kw_only=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    user_id: UserId
    # Given at login: an opaque token that makes this client a known one for the account's later
    # logins (domain/users/throttling.py).  Runners keep it out of response bodies (a cookie).
    client_token: str | None = None
