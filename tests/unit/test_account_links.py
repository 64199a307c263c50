"""Email verification and password reset links (domain/users/links_service.py) on memory adapters."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from attrs import define

from adapters.crypto.jwt import JwtTokenCodec
from adapters.memory.events import InMemoryEventBus
from adapters.memory.meetings import InMemoryMeetingRepository
from adapters.memory.outbox import InMemoryOutbox
from adapters.memory.throttle import InMemoryLoginThrottle
from adapters.memory.tokens import InMemorySessionStore
from adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory
from adapters.memory.users import InMemoryUserRepository
from adapters.system.clock import FrozenClock
from domain.messaging.relay import OutboxRelay
from domain.users import commands as uc
from domain.users.errors import (
    EmailAlreadyVerified,
    InvalidCredentials,
    InvalidToken,
    LinkInvalid,
    TooManyLinkRequests,
    WeakPassword,
)
from domain.users.events import (
    EmailVerificationRequested,
    EmailVerified,
    PasswordChanged,
    PasswordResetRequested,
    SessionsRevoked,
)
from domain.users.links_service import AccountLinkService
from domain.users.service import UserService
from tests.unit.conftest import GOOD_PASSWORD, JWT_SECRET, START

NEW_PASSWORD = "a completely new pass phrase"


@define
class World:
    users: UserService
    links: AccountLinkService
    outbox: InMemoryOutbox
    clock: FrozenClock
    repo: InMemoryUserRepository
    uow: InMemoryUnitOfWorkFactory

    def sent(self, kind: type) -> list:  # type: ignore[type-arg]
        return [e for e in self.outbox.events if isinstance(e, kind)]

    def last_token(self, kind: type) -> str:
        return self.sent(kind)[-1].token

    async def sign_up(self, name: str = "alice", address: str = "") -> object:
        return await self.users.register(uc.RegisterUser(username=name, email=f"{name}@example.com",
                                                         password=GOOD_PASSWORD, client_address=address))

    async def log_in(self, login: str = "alice", password: str = GOOD_PASSWORD):  # type: ignore[no-untyped-def]
        pair, _ = await self.users.login(uc.LogIn(login=login, password=password))
        return pair, await self.users.authenticate(pair.access_token)


@pytest.fixture
def world(domain_hasher) -> World:
    clock, repo, outbox = FrozenClock(START), InMemoryUserRepository(), InMemoryOutbox()
    uow = InMemoryUnitOfWorkFactory(InMemoryMeetingRepository(), repo, outbox)
    sessions, throttle = InMemorySessionStore(), InMemoryLoginThrottle()
    users = UserService(users=repo, hasher=domain_hasher, codec=JwtTokenCodec(JWT_SECRET), sessions=sessions,
                        throttle=throttle, uow=uow, clock=clock)
    links = AccountLinkService(users=repo, hasher=domain_hasher, sessions=sessions, throttle=throttle, uow=uow,
                               clock=clock)
    return World(users, links, outbox, clock, repo, uow)


# -- email verification ----------------------------------------------------------------------------


async def test_sign_up_asks_for_verification_and_stores_only_the_tokens_hash(world):
    user = await world.sign_up()
    (asked,) = world.sent(EmailVerificationRequested)
    assert (asked.user_id, asked.email, asked.expires_at) == (user.id, "alice@example.com", START + dt.timedelta(days=1))
    stored = world.uow.account_links._by_id
    assert asked.token not in stored and hashlib.sha256(asked.token.encode()).hexdigest() in stored
    assert not user.email_verified and user.invitation_email is None


async def test_following_the_link_verifies_the_address_once(world):
    user = await world.sign_up()
    token = world.last_token(EmailVerificationRequested)
    verified = await world.links.confirm_email(token)
    assert (verified.id, verified.email_verified, verified.invitation_email) == (user.id, True, "alice@example.com")
    assert (await world.repo.get(user.id)).email_verified
    assert [e.email for e in world.sent(EmailVerified)] == ["alice@example.com"]
    with pytest.raises(LinkInvalid):
        await world.links.confirm_email(token)


async def test_a_link_to_an_address_the_account_no_longer_has_verifies_nothing(world):
    user = await world.sign_up()
    old = world.last_token(EmailVerificationRequested)
    _, me = await world.log_in()
    await world.users.update_profile(me, uc.UpdateProfile(user_id=user.id, email="new@example.com",
                                                          current_password=GOOD_PASSWORD))
    new = world.sent(EmailVerificationRequested)[-1]
    assert new.email == "new@example.com"
    with pytest.raises(LinkInvalid):
        await world.links.confirm_email(old)
    assert (await world.links.confirm_email(new.token)).invitation_email == "new@example.com"


async def test_an_expired_or_malformed_or_wrong_kind_of_link_is_refused_alike(world):
    await world.sign_up()
    verify = world.last_token(EmailVerificationRequested)
    await world.links.request_password_reset("alice@example.com", "")
    reset = world.last_token(PasswordResetRequested)
    with pytest.raises(LinkInvalid):
        await world.links.confirm_email(reset)
    with pytest.raises(LinkInvalid):
        await world.links.reset_password(verify, NEW_PASSWORD)
    for junk in ("", "short", "x" * 43 + "!", "é" * 43):
        with pytest.raises(LinkInvalid):
            await world.links.confirm_email(junk)
    world.clock.advance(dt.timedelta(days=1))
    with pytest.raises(LinkInvalid):
        await world.links.confirm_email(verify)


async def test_resending_needs_an_unverified_address_and_is_rate_limited(world):
    user = await world.sign_up()
    _, me = await world.log_in()
    for _ in range(5):
        await world.links.resend_verification(me)
    assert len(world.sent(EmailVerificationRequested)) == 6
    with pytest.raises(TooManyLinkRequests) as caught:
        await world.links.resend_verification(me)
    assert caught.value.details["retry_after"] > 0
    await world.links.confirm_email(world.last_token(EmailVerificationRequested))
    world.clock.advance(dt.timedelta(hours=1))
    with pytest.raises(EmailAlreadyVerified):
        await world.links.resend_verification(me)
    assert (await world.repo.get(user.id)).email_verified


# -- password reset --------------------------------------------------------------------------------


async def test_a_reset_request_looks_the_same_for_unknown_banned_and_existing_accounts(world):
    await world.sign_up()
    bob = await world.sign_up("bob")
    await world.users.ensure_admin("root", "root@example.com", "root admin pass phrase")
    _, root = await world.log_in("root", "root admin pass phrase")
    await world.users.ban(root, bob.id)
    for email in ("nobody@example.com", "bob@example.com", " ALICE@example.com "):
        assert await world.links.request_password_reset(email, "10.0.0.1") is None
    assert [e.email for e in world.sent(PasswordResetRequested)] == ["alice@example.com"]


async def test_reset_requests_are_limited_per_email_whether_or_not_it_has_an_account(world):
    await world.sign_up()
    for email in ("alice@example.com", "nobody@example.com"):
        for n in range(5):
            await world.links.request_password_reset(email, f"10.0.0.{n}")
        with pytest.raises(TooManyLinkRequests):
            await world.links.request_password_reset(email, "10.0.1.1")


async def test_reset_requests_are_limited_per_client_address(world):
    for n in range(20):
        await world.links.request_password_reset(f"someone{n}@example.com", "10.9.9.9")
    with pytest.raises(TooManyLinkRequests):
        await world.links.request_password_reset("another@example.com", "10.9.9.9")
    await world.links.request_password_reset("another@example.com", "10.9.9.10")


async def test_a_reset_sets_the_password_ends_every_session_and_uses_the_link_up(world):
    user = await world.sign_up()
    pair, _ = await world.log_in()
    await world.links.request_password_reset("alice@example.com", "")
    token = world.last_token(PasswordResetRequested)
    reset = await world.links.reset_password(token, NEW_PASSWORD)
    assert reset.security_version == 1
    with pytest.raises(InvalidToken):
        await world.users.authenticate(pair.access_token)
    with pytest.raises(InvalidCredentials):
        await world.log_in()
    await world.log_in(password=NEW_PASSWORD)
    assert world.sent(PasswordChanged)[-1] == PasswordChanged(
        occurred_at=START, event_id=world.sent(PasswordChanged)[-1].event_id, user_id=user.id, reset=True)
    assert world.sent(SessionsRevoked)[-1].reason == "password_reset"
    with pytest.raises(LinkInvalid):
        await world.links.reset_password(token, "yet another pass phrase")


async def test_a_weak_new_password_is_refused_and_the_link_stays_usable(world):
    await world.sign_up()
    await world.links.request_password_reset("alice@example.com", "")
    token = world.last_token(PasswordResetRequested)
    for weak in ("short", "password1", "alice@example.com"):
        with pytest.raises(WeakPassword):
            await world.links.reset_password(token, weak)
    await world.links.reset_password(token, NEW_PASSWORD)


async def test_a_password_change_or_another_reset_voids_older_reset_links(world):
    user = await world.sign_up()
    await world.links.request_password_reset("alice@example.com", "")
    first = world.last_token(PasswordResetRequested)
    await world.links.request_password_reset("alice@example.com", "")
    second = world.last_token(PasswordResetRequested)
    await world.links.reset_password(second, NEW_PASSWORD)
    with pytest.raises(LinkInvalid):
        await world.links.reset_password(first, "yet another pass phrase")
    await world.links.request_password_reset("alice@example.com", "")
    third = world.last_token(PasswordResetRequested)
    _, me = await world.log_in(password=NEW_PASSWORD)
    await world.users.update_profile(me, uc.UpdateProfile(user_id=user.id, password="changed by its owner",
                                                          current_password=NEW_PASSWORD))
    assert [e.reset for e in world.sent(PasswordChanged)] == [True, False]
    with pytest.raises(LinkInvalid):
        await world.links.reset_password(third, "yet another pass phrase")


async def test_a_reset_link_expires(world):
    await world.sign_up()
    await world.links.request_password_reset("alice@example.com", "")
    token = world.last_token(PasswordResetRequested)
    world.clock.advance(dt.timedelta(minutes=30))
    with pytest.raises(LinkInvalid):
        await world.links.reset_password(token, NEW_PASSWORD)


async def test_relayed_link_events_keep_no_token_in_the_outbox_but_reach_the_subscribers(world):
    await world.sign_up()
    await world.links.request_password_reset("alice@example.com", "")
    bus, seen = InMemoryEventBus(), []

    async def subscriber(event) -> None:  # type: ignore[no-untyped-def]
        seen.append(event)
    bus.subscribe(subscriber)
    await OutboxRelay(outbox=world.outbox, publisher=bus).drain()
    tokens = [e.token for e in seen if isinstance(e, EmailVerificationRequested | PasswordResetRequested)]
    assert len(tokens) == 2 and all(len(t) == 43 for t in tokens)
    kept = [e for e in world.outbox.events if isinstance(e, EmailVerificationRequested | PasswordResetRequested)]
    assert [e.token for e in kept] == ["", ""]
    assert [e.email for e in kept] == ["alice@example.com"] * 2


def test_emailed_links_open_the_web_clients_pages_with_the_token_in_the_fragment():
    from domain.users.links import LinkPurpose, link_url
    assert link_url("https://meet.example.com/", LinkPurpose.RESET_PASSWORD, "abc") == \
        "https://meet.example.com/static/reset-password.html#token=abc"
    assert link_url("http://127.0.0.1:8800", LinkPurpose.VERIFY_EMAIL, "abc") == \
        "http://127.0.0.1:8800/static/verify-email.html#token=abc"


async def test_issuing_a_link_forgets_links_that_died_over_a_day_ago(world):
    await world.sign_up()
    await world.links.request_password_reset("alice@example.com", "")
    old = hashlib.sha256(world.last_token(PasswordResetRequested).encode()).hexdigest()
    world.clock.advance(dt.timedelta(days=1, minutes=31))
    await world.links.request_password_reset("alice@example.com", "")
    new = hashlib.sha256(world.last_token(PasswordResetRequested).encode()).hexdigest()
    assert old not in world.uow.account_links._by_id and new in world.uow.account_links._by_id
