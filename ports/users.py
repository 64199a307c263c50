from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from attrs import frozen

from domain.shared.ids import UserId
from domain.shared.pagination import Page, PageRequest
from domain.users.model import Role, User
from domain.users.throttling import Bucket, Reservation
from domain.users.tokens import AccessClaims, Principal, RefreshClaims, Session


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
    and never raises for them.  Slow on purpose: adapters must not block the event loop, and bound the
    work they take on: a ``verify`` (someone waiting to get in) never queues behind ``hash`` calls, and
    either may raise PasswordHashingBusy (with ``retry_after``) rather than queue without end."""

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
    """Login sessions (refresh-token families), guarded by each user's security version.

    - ``create`` stores the session and returns True, unless the user was revoked at a security
      version above the session's (``revoke_user``): then it stores nothing and returns False.  The
      check and the write are one atomic step.
    - ``get`` returns None for an unknown, revoked or expired session.
    - ``rotate`` atomically replaces the refresh id if it still equals ``expected_refresh_id`` and the
      session is live, extending expiry to ``expires_at``; returns whether it did (exactly one of two
      racing rotations of one id wins).
    - ``revoke`` is idempotent.  ``revoke_user`` raises the user's revocation floor to
      ``security_version`` (never lowers it), revokes every session of the user below it, and returns
      how many it removed (an expired session not yet collected may be counted); sessions at or above
      the floor (logins that already saw the new version) are kept.  From then on no live session of the
      user is below the floor.
    Any method may raise Unavailable.
    """

    async def create(self, session: Session) -> bool: ...
    async def get(self, session_id: str, now: dt.datetime) -> Session | None: ...
    async def rotate(self, session_id: str, expected_refresh_id: str, new_refresh_id: str,
                     expires_at: dt.datetime, now: dt.datetime) -> bool: ...
    async def revoke(self, session_id: str) -> None: ...
    async def revoke_user(self, user_id: UserId, security_version: int) -> int: ...


class LoginThrottle(Protocol):
    """Sliding-window attempt counters (logins, registrations) and the clients each account knows.

    - ``reserve`` decides and counts in one atomic step: when every bucket holds fewer than its
      ``limit`` attempts within its ``window`` before ``now`` (an attempt exactly ``window`` old has
      left), it counts one attempt, named by the reservation's id, in every bucket and returns a granted
      Reservation; otherwise it counts nothing and returns a refused one whose ``retry_after`` is the
      seconds (rounded up) until every bucket has room again.  Concurrent reservations never exceed a
      limit.  An empty ``buckets`` is always granted.
    - ``release`` takes a reservation's attempt back out of its buckets (it turned out not to be a
      failure); idempotent.  ``reset`` forgets every attempt in one bucket.
    - ``remember_client`` records that ``client`` (an opaque token the server handed out) logged into
      ``user_id``, until ``until``; ``knows_client`` answers whether that is so at ``now``.
    Any method may raise Unavailable.
    """

    async def reserve(self, buckets: Sequence[Bucket], now: dt.datetime) -> Reservation: ...
    async def release(self, reservation: Reservation) -> None: ...
    async def reset(self, key: str) -> None: ...
    async def remember_client(self, user_id: UserId, client: str, until: dt.datetime, now: dt.datetime) -> None: ...
    async def knows_client(self, user_id: UserId, client: str, now: dt.datetime) -> bool: ...


class Authenticator(Protocol):
    """Checks a user's access token for another part of the system (signaling, the gateway): the
    UserService in process, a gRPC client of the users service when the services split.

    - ``authenticate`` returns the token's Principal while its session is live (one session lookup, so
      it is also the session check that signaling repeats); raises InvalidToken for a malformed,
      expired or revoked token, or a session older than its user's last revocation.
    Any call may raise Unavailable.
    """

    async def authenticate(self, access_token: str) -> Principal: ...


@frozen(kw_only=True)
class UserSummary:
    """What other services may know of a user: no email, no credentials."""

    id: UserId
    username: str
    display_name: str
    role: Role = Role.USER
    banned: bool = False

    @classmethod
    def of(cls, user: User) -> UserSummary:
        return cls(id=user.id, username=user.username, display_name=user.display_name, role=user.role,
                   banned=user.banned)


class UserDirectory(Protocol):
    """Users by id, for other services.  ``summary`` raises UserNotFound for an unknown id; any call may
    raise Unavailable."""

    async def summary(self, user_id: UserId) -> UserSummary: ...
