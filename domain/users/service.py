"""User use cases: registration, login and sessions, profiles, administration."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Awaitable
from typing import TypeVar

from attrs import define, evolve, field

from domain.shared.errors import ConcurrentModification, DomainError
from domain.shared.ids import UserId, new_id
from domain.shared.events import DomainEvent
from domain.shared.pagination import Page, PageRequest
from domain.users import commands as c
from domain.users.errors import (
    EmailTaken,
    InvalidCredentials,
    InvalidToken,
    NotAllowed,
    TooManyLoginAttempts,
    TooManyRegistrations,
    UserBanned,
    UsernameTaken,
)
from domain.users.events import SessionsRevoked, UserLoggedIn, UserLoggedOut
from domain.users.model import (
    Role,
    User,
    check_password_policy,
    normalize_display_name,
    normalize_email,
    normalize_username,
)
from domain.users.links import AccountLink, LinkPolicy, verification_link
from domain.users.throttling import AttemptLimits, Reservation
from domain.users.tokens import AccessClaims, Principal, RefreshClaims, Session, TokenPair
from ports.clock import Clock
from ports.uow import UnitOfWorkFactory
from ports.users import (
    LoginThrottle,
    PasswordHasher,
    SessionStore,
    TokenCodec,
    UserRepository,
)

SAVE_ATTEMPTS = 5
T = TypeVar("T")
CLIENT_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{20,64}")


@define(kw_only=True)
class TokenPolicy:
    access_ttl: dt.timedelta = dt.timedelta(minutes=15)
    refresh_ttl: dt.timedelta = dt.timedelta(days=7)


@define(kw_only=True)
class UserService:
    users: UserRepository
    hasher: PasswordHasher
    codec: TokenCodec
    sessions: SessionStore
    throttle: LoginThrottle
    uow: UnitOfWorkFactory  # writes, and the events they raise (one transaction each)
    clock: Clock
    policy: TokenPolicy = TokenPolicy()
    limits: AttemptLimits = AttemptLimits()
    links: LinkPolicy = LinkPolicy()
    _dummy: str | None = field(default=None, init=False, repr=False)

    # -- registration and login -------------------------------------------------------------------

    async def register(self, cmd: c.RegisterUser, *, role: Role = Role.USER, email_verified: bool = False) -> User:
        """Rules: valid username/email/display name; password policy; username and email unique; a
        limited number of registrations per client address (reserved before the costly hash).  The
        address starts unverified: a verification link is asked for with the new account."""
        username = normalize_username(cmd.username)
        email = normalize_email(cmd.email)
        display = normalize_display_name(cmd.display_name) if cmd.display_name is not None else None
        check_password_policy(cmd.password, username=username, email=email)
        # Checked before hashing so a clash costs no hash; the repository re-checks atomically.
        if await self.users.find_by_login(username) is not None:
            raise UsernameTaken(field="username")
        if await self.users.find_by_email(email) is not None:
            raise EmailTaken(field="email")
        now = self.clock.now()
        reservation = await self.throttle.reserve(self.limits.registration_buckets(cmd.client_address), now)
        if not reservation.granted:
            raise TooManyRegistrations(retry_after=reservation.retry_after)
        password_hash = await self._hash_or_release(self.hasher.hash(cmd.password), reservation)
        user = User.register(
            user_id=UserId(new_id()), username=username, email=email,
            password_hash=password_hash, display_name=display, now=now, role=role, email_verified=email_verified,
        )
        link = None if email_verified else verification_link(user, now=now, ttl=self.links.verify_ttl)
        await self._add(user, link)
        return user

    async def login(self, cmd: c.LogIn) -> tuple[TokenPair, User]:
        """Rules: the attempt is reserved before the password is checked, so parallel guesses cannot
        outrun the limits (which counters: domain/users/throttling.py); one error for unknown user and
        wrong password; banned users are refused after the password checks out; a revocation (ban,
        password or role change) that happens while the password is checked wins over the login."""
        now = self.clock.now()
        login = cmd.login.strip()
        user = await self.users.find_by_login(login)
        offered = cmd.client_token if cmd.client_token and CLIENT_TOKEN_RE.fullmatch(cmd.client_token) else None
        known = offered if offered and user and await self.throttle.knows_client(
            user.id, self._client_key(user, offered), now) else None
        reservation = await self.throttle.reserve(self.limits.login_buckets(login, cmd.client_address, known), now)
        if not reservation.granted:
            raise TooManyLoginAttempts(retry_after=reservation.retry_after)
        password_ok = await self._hash_or_release(self._check(user, cmd.password), reservation)
        if user is None or not password_ok:
            raise InvalidCredentials("invalid username or password")  # the reservation stays: a failure
        await self.throttle.release(reservation)
        await self.throttle.reset(reservation.buckets[0].key)
        if user.banned:
            raise UserBanned("this account is banned")
        session = Session(id=new_id(), user_id=user.id, refresh_token_id=new_id(), created_at=now,
                          expires_at=now + self.policy.refresh_ttl, security_version=user.security_version)
        if not await self.sessions.create(session):
            raise InvalidCredentials("the account changed while logging in; log in again")
        client = offered or secrets.token_urlsafe(32)
        await self.throttle.remember_client(user.id, self._client_key(user, client),
                                            now + self.limits.known_client_ttl, now)
        await self._publish(UserLoggedIn(occurred_at=now, user_id=user.id, session_id=session.id,
                                         new_client=known is None))
        pair = self._tokens(user, session, session.refresh_token_id, now)
        return evolve(pair, client_token=client), user

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Rotation: the presented token must be its session's current one.  An older token of the
        session means the family leaked: the whole session is revoked."""
        now = self.clock.now()
        claims = self.codec.decode_refresh(refresh_token, now)
        session = await self.sessions.get(claims.session_id, now)
        if session is None or session.user_id != claims.user_id:
            raise InvalidToken("session is not active")
        if session.refresh_token_id != claims.token_id:
            await self._revoke_session(session, "refresh_token_reused", now)
            raise InvalidToken("refresh token was already used; the session is revoked")
        user = await self.users.get(claims.user_id)
        if user.banned:
            await self._revoke_session(session, "banned", now)
            raise UserBanned("this account is banned")
        if user.security_version != session.security_version:
            await self._revoke_session(session, "revoked", now)
            raise InvalidToken("session is not active")
        new_refresh_id = new_id()
        if not await self.sessions.rotate(session.id, claims.token_id, new_refresh_id,
                                          now + self.policy.refresh_ttl, now):
            await self._revoke_session(session, "refresh_token_reused", now)
            raise InvalidToken("refresh token was already used; the session is revoked")
        return self._tokens(user, session, new_refresh_id, now)

    async def authenticate(self, access_token: str) -> Principal:
        """One session lookup decides: logout and every revocation remove the session (no token
        denylist), and a session is never older than its user's last revocation (SessionStore)."""
        now = self.clock.now()
        claims = self.codec.decode_access(access_token, now)
        session = await self.sessions.get(claims.session_id, now)
        if (session is None or session.user_id != claims.user_id
                or session.security_version != claims.security_version):
            raise InvalidToken("session is not active")
        return Principal(user_id=claims.user_id, role=claims.role, session_id=claims.session_id,
                         token_id=claims.token_id, expires_at=claims.expires_at,
                         security_version=claims.security_version)

    async def logout(self, principal: Principal, refresh_token: str | None = None) -> None:
        """Revokes the access token's session (which ends the token), and the refresh token's session
        when it is another session of the same user.  A refresh token of someone else is refused up
        front."""
        now = self.clock.now()
        other_session = None
        if refresh_token is not None:
            claims = self.codec.decode_refresh(refresh_token, now)
            if claims.user_id != principal.user_id:
                raise InvalidToken("refresh token belongs to another user")
            other_session = claims.session_id
        await self.sessions.revoke(principal.session_id)
        ended = [SessionsRevoked(occurred_at=now, user_id=principal.user_id, reason="logout",
                                 session_id=principal.session_id)]
        if other_session and other_session != principal.session_id:
            await self.sessions.revoke(other_session)
            ended.append(SessionsRevoked(occurred_at=now, user_id=principal.user_id, reason="logout",
                                         session_id=other_session))
        await self._publish(UserLoggedOut(occurred_at=now, user_id=principal.user_id,
                                                session_id=principal.session_id), *ended)

    async def _revoke_session(self, session: Session, reason: str, now: dt.datetime) -> None:
        await self.sessions.revoke(session.id)
        await self._publish(SessionsRevoked(occurred_at=now, user_id=session.user_id, reason=reason,
                                                  session_id=session.id))

    async def _revoke_user(self, user: User) -> None:
        """After the user's new security version (and its SessionsRevoked event) is saved: ends every
        older session, and stops logins that read the user before the change from creating one."""
        await self.sessions.revoke_user(user.id, user.security_version)

    async def _hash_or_release(self, work: Awaitable[T], reservation: Reservation) -> T:
        """An attempt the server could not carry out (hashing busy, a store down) is no attempt."""
        try:
            return await work
        except DomainError:
            await self.throttle.release(reservation)
            raise

    @staticmethod
    def _client_key(user: User, client: str) -> str:
        # Known per security version: clients that logged in before a password change (perhaps with
        # the stolen password) are strangers again, so they cannot stack per-client budgets.
        return f"{user.security_version}.{client}"

    async def _check(self, user: User | None, password: str) -> bool:
        # An unknown user costs a hash check too, so timing does not tell which accounts exist.
        return await self.hasher.verify(user.password_hash if user else await self._dummy_hash(), password)

    async def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = await self.hasher.hash(new_id())
        return self._dummy

    def _tokens(self, user: User, session: Session, refresh_id: str, now: dt.datetime) -> TokenPair:
        access = AccessClaims(user_id=user.id, role=user.role, session_id=session.id, token_id=new_id(),
                              issued_at=now, expires_at=now + self.policy.access_ttl,
                              security_version=session.security_version)
        refresh = RefreshClaims(user_id=user.id, session_id=session.id, token_id=refresh_id,
                                issued_at=now, expires_at=now + self.policy.refresh_ttl)
        return TokenPair(access_token=self.codec.encode_access(access),
                         refresh_token=self.codec.encode_refresh(refresh),
                         expires_in=int(self.policy.access_ttl.total_seconds()), user_id=user.id)

    # -- profiles ----------------------------------------------------------------------------------

    async def get_user(self, actor: Principal, user_id: UserId) -> tuple[User, bool]:
        """Anyone signed in sees a public profile; self and admins also see private fields.
        Returns the user and whether the private view is allowed."""
        user = await self.users.get(user_id)
        return user, actor.is_admin or actor.user_id == user_id

    async def update_profile(self, actor: Principal, cmd: c.UpdateProfile) -> User:
        """Rules: self or admin; unique username and email; a password change needs the current
        password (admins cannot set other people's passwords) and revokes every session; changing
        one's own email needs the current password too, and a new email is unverified (it grants no
        invitations) until verified.  Current-password checks are throttled like logins."""
        if not (actor.is_admin or actor.user_id == cmd.user_id):
            raise NotAllowed("you may only change your own profile")
        if cmd.password is not None and actor.user_id != cmd.user_id:
            raise NotAllowed("only the account owner can change its password")
        username = normalize_username(cmd.username) if cmd.username is not None else None
        email = normalize_email(cmd.email) if cmd.email is not None else None
        display = normalize_display_name(cmd.display_name) if cmd.display_name is not None else None
        confirmed_against = None  # the hash the current password was checked against
        new_hash: str | None = None
        for _ in range(SAVE_ATTEMPTS):
            user = await self.users.get(cmd.user_id)
            now = self.clock.now()
            own_email_changes = email is not None and email != user.email and actor.user_id == user.id
            if (cmd.password is not None or own_email_changes) and confirmed_against != user.password_hash:
                await self._confirm_password(user, cmd.current_password, now)
                confirmed_against = user.password_hash
            if cmd.password is not None:
                check_password_policy(cmd.password, username=username or user.username,
                                      email=email or user.email)
                if new_hash is None:  # argon2 is slow: hash once, whatever the retries
                    new_hash = await self.hasher.hash(cmd.password)
                user.change_password(new_hash, now=now)
            old_email = user.email
            user.update_profile(now=now, username=username, email=email, display_name=display)
            link = verification_link(user, now=now, ttl=self.links.verify_ttl) if user.email != old_email else None
            try:
                await self._save(user, link)
            except ConcurrentModification:
                continue
            if cmd.password is not None:
                await self._revoke_user(user)
            return user
        raise ConcurrentModification("the user kept changing; try again")

    async def _confirm_password(self, user: User, current_password: str | None, now: dt.datetime) -> None:
        """The account owner proves it is them again; a stolen access token gets a login's few guesses."""
        if current_password is None:
            raise InvalidCredentials("the current password is required for this change", field="current_password")
        reservation = await self.throttle.reserve(self.limits.reauthentication_buckets(user.id), now)
        if not reservation.granted:
            raise TooManyLoginAttempts(retry_after=reservation.retry_after)
        if not await self._hash_or_release(self._check(user, current_password), reservation):
            raise InvalidCredentials("current password is wrong", field="current_password")
        await self.throttle.release(reservation)

    # -- administration ----------------------------------------------------------------------------

    async def list_users(self, actor: Principal, query: str, page: PageRequest) -> Page[User]:
        self._require_admin(actor)
        return await self.users.search(query.strip(), page)

    async def ban(self, actor: Principal, user_id: UserId) -> User:
        """Rules: admins only, not oneself; every session of the banned user is revoked at once."""
        self._require_admin(actor)
        if actor.user_id == user_id:
            raise NotAllowed("you cannot ban yourself")
        user = await self._change(user_id, lambda u, now: u.ban(by=actor.user_id, now=now))
        await self._revoke_user(user)
        return user

    async def unban(self, actor: Principal, user_id: UserId) -> User:
        self._require_admin(actor)
        return await self._change(user_id, lambda u, now: u.unban(by=actor.user_id, now=now))

    async def set_role(self, actor: Principal, cmd: c.SetRole) -> User:
        """Rules: admins only, not on themselves (so the last admin cannot demote itself away); the
        user's sessions are revoked so the new role is in every token they hold from now on."""
        self._require_admin(actor)
        if actor.user_id == cmd.user_id:
            raise NotAllowed("you cannot change your own role")
        user = await self._change(cmd.user_id, lambda u, now: u.set_role(cmd.role, now=now))
        await self._revoke_user(user)
        return user

    async def ensure_admin(self, username: str, email: str, password: str) -> User:
        """Start-up bootstrap: create the configured admin if no user has that username."""
        existing = await self.users.find_by_login(username)
        if existing is not None:
            if not existing.is_admin:
                return await self._change(existing.id, lambda u, now: u.set_role(Role.ADMIN, now=now))
            return existing
        return await self.register(c.RegisterUser(username=username, email=email, password=password),
                                   role=Role.ADMIN, email_verified=True)  # the operator configured it

    async def _change(self, user_id: UserId, mutate) -> User:  # type: ignore[no-untyped-def]
        for _ in range(SAVE_ATTEMPTS):
            user = await self.users.get(user_id)
            mutate(user, self.clock.now())
            try:
                await self._save(user)
            except ConcurrentModification:
                continue
            return user
        raise ConcurrentModification("the user kept changing; try again")

    async def _add(self, user: User, link: AccountLink | None = None) -> None:
        async with self.uow() as uow:
            await uow.users.add(user)
            if link is not None:
                await uow.account_links.add(link)
            await uow.commit()

    async def _save(self, user: User, link: AccountLink | None = None) -> None:
        """As UserRepository.save (ConcurrentModification, ...); the user's events (and the link it
        asked for) commit with it."""
        async with self.uow() as uow:
            await uow.users.save(user)
            if link is not None:
                await uow.account_links.add(link)
            await uow.commit()

    async def _publish(self, *events: DomainEvent) -> None:
        async with self.uow() as uow:
            uow.collect(*events)
            await uow.commit()

    @staticmethod
    def _require_admin(actor: Principal) -> None:
        if not actor.is_admin:
            raise NotAllowed("administrators only")
