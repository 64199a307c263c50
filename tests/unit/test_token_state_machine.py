"""Random walks over logins, refreshes, logouts, bans and the passing of time.

UserService runs on memory adapters, the real JWT codec and argon2 hasher, and a FrozenClock; the
machine owns an asyncio.Runner (state machines are synchronous).  A model of every session and token
ever issued predicts which tokens still work; the invariants ask the service about every one of them.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import attrs
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, multiple, rule

from adapters.crypto.argon2 import Argon2PasswordHasher
from adapters.memory.outbox import InMemoryOutbox
from adapters.memory.users import InMemoryUserRepository
from adapters.system.clock import FrozenClock
from domain.users import commands as uc
from domain.users.errors import InvalidToken, UserBanned
from domain.users.model import Role
from domain.users.service import TokenPolicy, UserService
from domain.users.tokens import TokenPair
from tests.unit.conftest import GOOD_PASSWORD, START, build_user_service

NAMES = ["alice", "bob", "carol"]
HASHER = Argon2PasswordHasher.fast()
POLICY = TokenPolicy()


@attrs.define
class SessionModel:
    user: str
    refresh_token: str  # the current one
    refresh_expires: dt.datetime  # of the current refresh token, and of the session
    access: list[tuple[str, dt.datetime]] = attrs.field(factory=list)
    old_refresh: list[tuple[str, dt.datetime]] = attrs.field(factory=list)
    alive: bool = True


class TokenMachine(RuleBasedStateMachine):
    sessions = Bundle("sessions")

    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.clock = FrozenClock(START)
        self.service: UserService = build_user_service(
            users=InMemoryUserRepository(), clock=self.clock, outbox=InMemoryOutbox(), hasher=HASHER)
        self.ids: dict[str, str] = {}
        self.banned: set[str] = set()
        self.all_sessions: list[SessionModel] = []
        self.admin_tokens: TokenPair

    def run(self, coro):  # type: ignore[no-untyped-def]
        return self.runner.run(coro)

    @property
    def now(self) -> dt.datetime:
        return self.clock.now()

    def teardown(self) -> None:
        self.runner.close()

    @initialize()
    def register_everyone(self) -> None:
        for name in NAMES:
            user = self.run(self.service.register(
                uc.RegisterUser(username=name, email=f"{name}@example.com", password=GOOD_PASSWORD)))
            self.ids[name] = user.id
        self.run(self.service.register(
            uc.RegisterUser(username="root", email="root@example.com", password=GOOD_PASSWORD), role=Role.ADMIN))

    def admin(self):  # type: ignore[no-untyped-def]
        """A fresh admin principal (the admin's own tokens may have expired since the last rule)."""
        pair, _ = self.run(self.service.login(uc.LogIn(login="root", password=GOOD_PASSWORD)))
        return self.run(self.service.authenticate(pair.access_token))

    def kill_sessions_of(self, name: str) -> None:
        for s in self.all_sessions:
            if s.user == name:
                s.alive = False

    def session_is_live(self, s: SessionModel) -> bool:
        return s.alive and s.refresh_expires > self.now

    # -- rules -----------------------------------------------------------------------------------

    @rule(target=sessions, name=st.sampled_from(NAMES), by_email=st.booleans())
    def log_in(self, name: str, by_email: bool):  # type: ignore[no-untyped-def]
        login = f"{name.upper()}@Example.com" if by_email else name
        if name in self.banned:
            try:
                self.run(self.service.login(uc.LogIn(login=login, password=GOOD_PASSWORD)))
            except UserBanned:
                return multiple()
            raise AssertionError("a banned user logged in")
        pair, user = self.run(self.service.login(uc.LogIn(login=login, password=GOOD_PASSWORD)))
        assert user.id == self.ids[name] == pair.user_id
        session = SessionModel(user=name, refresh_token=pair.refresh_token,
                               refresh_expires=self.now + POLICY.refresh_ttl,
                               access=[(pair.access_token, self.now + POLICY.access_ttl)])
        self.all_sessions.append(session)
        principal = self.run(self.service.authenticate(pair.access_token))
        assert principal.user_id == self.ids[name]
        return session

    @rule(session=sessions)
    def refresh_with_the_current_token(self, session: SessionModel) -> None:
        if not self.session_is_live(session):
            self.expect_refused(session.refresh_token)
            session.alive = False
            return
        pair = self.run(self.service.refresh(session.refresh_token))
        session.old_refresh.append((session.refresh_token, session.refresh_expires))
        session.refresh_token = pair.refresh_token
        session.refresh_expires = self.now + POLICY.refresh_ttl
        session.access.append((pair.access_token, self.now + POLICY.access_ttl))

    @rule(session=sessions, data=st.data())
    def refresh_with_an_old_token(self, session: SessionModel, data: st.DataObject) -> None:
        if not session.old_refresh:
            return
        token, expires = data.draw(st.sampled_from(session.old_refresh))
        self.expect_refused(token)
        # Reuse of a rotated token that is still unexpired is theft: the whole session goes.  (An
        # expired one is refused before the session is even looked up.)
        if expires > self.now:
            session.alive = False
        # Either way the session's current refresh token must now agree with the model.
        if session.alive and self.session_is_live(session):
            return
        self.expect_refused(session.refresh_token)

    @rule(session=sessions, with_refresh=st.booleans(), other=st.one_of(st.none(), sessions))
    def log_out(self, session: SessionModel, with_refresh: bool, other: SessionModel) -> None:
        live_access = [t for t, exp in session.access if exp > self.now]
        if not self.session_is_live(session) or not live_access:
            return
        principal = self.run(self.service.authenticate(live_access[-1]))
        refresh_session = other if other is not None else session
        refresh = refresh_session.refresh_token if with_refresh else None
        refused = refresh is not None and (refresh_session.user != session.user
                                           or refresh_session.refresh_expires <= self.now)
        try:
            self.run(self.service.logout(principal, refresh))
        except InvalidToken:
            # Someone else's (or an expired) refresh token is refused up front and changes nothing.
            assert refused, "logout refused the caller's own live refresh token"
            return
        assert not refused, "logout accepted another user's or an expired refresh token"
        session.alive = False
        if refresh is not None:
            refresh_session.alive = False

    @rule(name=st.sampled_from(NAMES))
    def ban(self, name: str) -> None:
        self.run(self.service.ban(self.admin(), self.ids[name]))
        self.banned.add(name)
        self.kill_sessions_of(name)

    @rule(name=st.sampled_from(NAMES))
    def unban(self, name: str) -> None:
        self.run(self.service.unban(self.admin(), self.ids[name]))
        self.banned.discard(name)

    @rule(seconds=st.sampled_from([1, 60, 14 * 60, 15 * 60, 3600, 86_400, 3 * 86_400, 7 * 86_400]))
    def advance_the_clock(self, seconds: int) -> None:
        self.clock.advance(dt.timedelta(seconds=seconds))

    # -- checks ----------------------------------------------------------------------------------

    def expect_refused(self, refresh_token: str) -> None:
        try:
            self.run(self.service.refresh(refresh_token))
        except (InvalidToken, UserBanned):
            return
        raise AssertionError("a dead refresh token was accepted")

    @invariant()
    def every_access_token_works_exactly_while_its_session_is_live_and_it_is_unexpired(self) -> None:
        for s in self.all_sessions:
            for token, expires in s.access:
                should_work = self.session_is_live(s) and expires > self.now and s.user not in self.banned
                try:
                    principal = self.run(self.service.authenticate(token))
                except InvalidToken:
                    assert not should_work, f"a live access token of {s.user} was refused"
                    continue
                assert should_work, f"a revoked or expired access token of {s.user} was accepted"
                assert principal.user_id == self.ids[s.user]

    @invariant()
    def a_banned_user_has_no_live_session(self) -> None:
        for s in self.all_sessions:
            if s.user in self.banned:
                assert not s.alive


TokenMachine.TestCase.settings = settings(max_examples=80, stateful_step_count=30, deadline=None)
TestTokenStateMachine = TokenMachine.TestCase
