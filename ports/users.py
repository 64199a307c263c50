from __future__ import annotations

import datetime as dt
from typing import Protocol

from domain.shared.ids import UserId
from domain.shared.pagination import Page, PageRequest
from domain.users.model import User
from domain.users.tokens import AccessClaims, RefreshClaims, Session


class UserRepository(Protocol):
    """Stores User aggregates and returns independent copies (mutate, then ``save``).

    Usernames are unique case-insensitively, emails exactly (they are stored lower-case).
    - ``add`` raises UsernameTaken or EmailTaken.
    - ``get`` raises UserNotFound; ``find_by_login`` returns None when nobody has that username/email.
    - ``save`` raises UserNotFound, UsernameTaken/EmailTaken on a clash, and ConcurrentModification when
      the stored version is not ``user.version``; on success it increments ``user.version``.
    - ``search`` matches ``query`` case-insensitively as a substring of username, email or display
      name, ordered by creation time then id.
    Any method may raise Unavailable.
    """

    async def add(self, user: User) -> None: ...
    async def get(self, user_id: UserId) -> User: ...
    async def find_by_login(self, login: str) -> User | None: ...
    async def find_by_email(self, email: str) -> User | None: ...
    async def save(self, user: User) -> None: ...
    async def search(self, query: str, page: PageRequest) -> Page[User]: ...


class PasswordHasher(Protocol):
    """One-way password hashing.  ``verify`` returns False for a wrong password or a malformed hash
    and never raises for them.  Slow on purpose: adapters must not block the event loop."""

    async def hash(self, password: str) -> str: ...
    async def verify(self, password_hash: str, password: str) -> bool: ...


class TokenCodec(Protocol):
    """Turns claims into signed bearer strings and back.

    ``decode_*`` raise InvalidToken for anything not issued by this codec's key, of the other kind
    (an access token presented as refresh and vice versa), malformed, or expired at ``now``.
    """

    def encode_access(self, claims: AccessClaims) -> str: ...
    def encode_refresh(self, claims: RefreshClaims) -> str: ...
    def decode_access(self, token: str, now: dt.datetime) -> AccessClaims: ...
    def decode_refresh(self, token: str, now: dt.datetime) -> RefreshClaims: ...


class SessionStore(Protocol):
    """Login sessions (refresh-token families).

    - ``get`` returns None for an unknown, revoked or expired session.
    - ``rotate`` atomically replaces the refresh id if it still equals ``expected_refresh_id`` and the
      session is live, extending expiry to ``expires_at``; returns whether it did (exactly one of two
      racing rotations of one id wins).
    - ``revoke`` is idempotent; ``revoke_user`` revokes every session of the user and returns how many
      it removed (an expired session not yet collected may be counted).
    Any method may raise Unavailable.
    """

    async def create(self, session: Session) -> None: ...
    async def get(self, session_id: str, now: dt.datetime) -> Session | None: ...
    async def rotate(self, session_id: str, expected_refresh_id: str, new_refresh_id: str,
                     expires_at: dt.datetime, now: dt.datetime) -> bool: ...
    async def revoke(self, session_id: str) -> None: ...
    async def revoke_user(self, user_id: UserId) -> int: ...


class TokenDenylist(Protocol):
    """Access-token ids refused before they expire.  An entry may be forgotten after ``until``
    (the token is expired by then anyway).  Any method may raise Unavailable."""

    async def deny(self, token_id: str, until: dt.datetime, now: dt.datetime) -> None: ...
    async def is_denied(self, token_id: str, now: dt.datetime) -> bool: ...


class LoginThrottle(Protocol):
    """Counts failed logins per key (an account, a client address) in a sliding window.

    ``check`` returns the seconds to wait when any key is over its limit, else 0.
    ``record_failure`` adds one failure to each key; ``reset`` clears a key (after a success).
    Any method may raise Unavailable.
    """

    async def check(self, keys: list[str], now: dt.datetime) -> int: ...
    async def record_failure(self, keys: list[str], now: dt.datetime) -> None: ...
    async def reset(self, key: str) -> None: ...
