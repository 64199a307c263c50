from __future__ import annotations

import datetime as dt

import attrs
import pytest

from domain.shared.errors import ConcurrentModification, Unavailable
from domain.shared.pagination import PageRequest
from domain.users import commands as uc
from domain.users.errors import (
    EmailTaken,
    InvalidCredentials,
    InvalidToken,
    InvalidUserData,
    NotAllowed,
    PasswordHashingBusy,
    TooManyLoginAttempts,
    UserBanned,
    UsernameTaken,
    UserNotFound,
    WeakPassword,
)
from domain.users.model import Role
from tests.unit.conftest import GOOD_PASSWORD, START, register


def sign_up(username="alice", email="alice@example.com", password=GOOD_PASSWORD, display_name=None, address=""):
    return uc.RegisterUser(username=username, email=email, password=password, display_name=display_name,
                           client_address=address)


async def log_in(service, login="alice", password=GOOD_PASSWORD, address="", client=None):
    pair, _ = await service.login(uc.LogIn(login=login, password=password, client_address=address,
                                           client_token=client))
    return pair, await service.authenticate(pair.access_token)


def event_names(outbox) -> list[str]:
    return [event.name for event in outbox.events]


# -- registration ----------------------------------------------------------------------------------


async def test_registration_trims_the_username_lowercases_the_email_and_defaults_the_display_name(
        user_service, domain_outbox):
    user = await user_service.register(sign_up(username="  Alice_1 ", email="  Alice@Example.COM "))
    assert (user.username, user.email, user.display_name) == ("Alice_1", "alice@example.com", "Alice_1")
    assert user.role is Role.USER and not user.banned
    assert event_names(domain_outbox) == ["user.registered", "user.email_verification_requested"]
    assert (user.email_verified, user.invitation_email) == (False, None)


async def test_registration_collapses_whitespace_in_the_display_name(user_service):
    user = await user_service.register(sign_up(display_name="  Alice \t  Liddell "))
    assert user.display_name == "Alice Liddell"


async def test_registration_stores_a_hash_that_verifies_and_never_the_password(user_service, domain_users,
                                                                               domain_hasher):
    user = await user_service.register(sign_up())
    stored = await domain_users.get(user.id)
    assert GOOD_PASSWORD not in stored.password_hash
    assert await domain_hasher.verify(stored.password_hash, GOOD_PASSWORD)


@pytest.mark.parametrize("username", ["ab", "a" * 33, "_alice", "al ice", "alice!", "", "élise"])
async def test_an_invalid_username_is_refused_with_its_field(user_service, username):
    with pytest.raises(InvalidUserData) as caught:
        await user_service.register(sign_up(username=username))
    assert caught.value.details == {"field": "username"}


@pytest.mark.parametrize("email", ["alice", "alice@", "@example.com", "alice@example", "a b@example.com",
                                   "alice@@example.com", "a" * 65 + "@example.com"])
async def test_an_invalid_email_is_refused_with_its_field(user_service, email):
    with pytest.raises(InvalidUserData) as caught:
        await user_service.register(sign_up(email=email))
    assert caught.value.details == {"field": "email"}


@pytest.mark.parametrize("password", [
    "short1!", "x" * 129, "password", "PassWord1", "aaaabbbb", "abababababab", "alice", "Alice@Example.com",
    "alice@example.com"])
async def test_a_weak_password_is_refused(user_service, password):
    with pytest.raises(WeakPassword):
        await user_service.register(sign_up(username="alice", email="alice@example.com", password=password))


async def test_a_password_equal_to_the_username_is_refused_even_when_long_enough(user_service):
    with pytest.raises(WeakPassword):
        await user_service.register(sign_up(username="alice.liddell", email="a@example.com",
                                            password="Alice.Liddell"))


async def test_a_password_of_8_and_of_128_characters_is_accepted(user_service):
    await user_service.register(sign_up(username="eight", email="eight@example.com", password="abcd1234"))
    await user_service.register(sign_up(username="long", email="long@example.com", password="abcdefgh" * 16))


async def test_usernames_are_unique_regardless_of_case(user_service, domain_outbox):
    await user_service.register(sign_up(username="Alice"))
    with pytest.raises(UsernameTaken):
        await user_service.register(sign_up(username="aLiCe", email="other@example.com"))
    assert event_names(domain_outbox) == ["user.registered", "user.email_verification_requested"]


async def test_emails_are_unique_regardless_of_case(user_service):
    await user_service.register(sign_up(email="alice@example.com"))
    with pytest.raises(EmailTaken):
        await user_service.register(sign_up(username="alice2", email="ALICE@example.com"))


# -- login -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("login", ["alice", "ALICE", " Alice ", "alice@example.com", "Alice@EXAMPLE.com"])
async def test_a_user_logs_in_by_username_or_email_in_any_case(user_service, login):
    user = await user_service.register(sign_up(username="Alice"))
    pair, principal = await log_in(user_service, login=login)
    assert pair.user_id == principal.user_id == user.id
    assert pair.expires_in == 15 * 60
    assert principal.role is Role.USER


async def test_login_publishes_logged_in_with_the_session(user_service, domain_outbox):
    await register(user_service, "alice")
    _, principal = await log_in(user_service)
    last = domain_outbox.events[-1]
    assert (last.name, last.session_id) == ("user.logged_in", principal.session_id)


async def test_a_wrong_password_and_an_unknown_user_give_the_same_error(user_service):
    await register(user_service, "alice")
    with pytest.raises(InvalidCredentials) as wrong:
        await log_in(user_service, password="not the password")
    with pytest.raises(InvalidCredentials) as unknown:
        await log_in(user_service, login="nobody")
    assert (wrong.value.message, wrong.value.details) == (unknown.value.message, unknown.value.details)
    assert wrong.value.code == unknown.value.code == "invalid_credentials"


async def test_five_failures_throttle_the_account_with_a_retry_after_even_for_the_right_password(
        user_service, domain_clock):
    await register(user_service, "alice")
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            await log_in(user_service, password="wrong password")
    with pytest.raises(TooManyLoginAttempts) as caught:
        await log_in(user_service)
    assert 0 < caught.value.details["retry_after"] <= 15 * 60
    domain_clock.advance(dt.timedelta(seconds=caught.value.details["retry_after"]))
    await log_in(user_service)


async def test_four_failures_do_not_throttle_and_a_success_clears_them(user_service):
    await register(user_service, "alice")
    for _ in range(4):
        with pytest.raises(InvalidCredentials):
            await log_in(user_service, password="wrong password")
    await log_in(user_service)
    for _ in range(4):
        with pytest.raises(InvalidCredentials):
            await log_in(user_service, password="wrong password")
    await log_in(user_service)


async def test_throttling_one_account_leaves_another_alone(user_service):
    await register(user_service, "alice")
    await register(user_service, "bob")
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            await log_in(user_service, password="wrong password")
    await log_in(user_service, login="bob")


async def test_failures_by_username_do_not_throttle_the_email_so_a_429_tells_nothing_about_who_owns_it(
        user_service):
    """Counted as typed: were failures by username to block the email, an attacker would learn that
    this email belongs to this username."""
    await register(user_service, "alice")
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            await log_in(user_service, login="alice", password="wrong password", address="203.0.113.9")
    with pytest.raises(TooManyLoginAttempts):
        await log_in(user_service, login="alice", address="203.0.113.9")
    for email in ("alice@example.com", "someone.else@example.com"):
        with pytest.raises(InvalidCredentials):
            await log_in(user_service, login=email, password="wrong password", address="203.0.113.9")
    await log_in(user_service, login="alice@example.com", address="203.0.113.9")


async def test_unknown_logins_are_throttled_too(user_service):
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            await log_in(user_service, login="ghost")
    with pytest.raises(TooManyLoginAttempts):
        await log_in(user_service, login="ghost")


async def test_many_failures_from_one_address_throttle_its_unknown_clients_only(user_service):
    await register(user_service, "alice")
    known, _ = await log_in(user_service, address="203.0.113.9")
    for i in range(50):
        with pytest.raises(InvalidCredentials):
            await log_in(user_service, login=f"ghost{i}", address="203.0.113.9")
    with pytest.raises(TooManyLoginAttempts):
        await log_in(user_service, address="203.0.113.9")
    await log_in(user_service, address="198.51.100.1")
    await log_in(user_service, address="203.0.113.9", client=known.client_token)


async def test_an_attacker_at_another_address_cannot_lock_the_owner_out(user_service):
    await register(user_service, "alice")
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            await log_in(user_service, password="wrong password", address="203.0.113.9")
    with pytest.raises(TooManyLoginAttempts):
        await log_in(user_service, address="203.0.113.9")
    await log_in(user_service, address="198.51.100.1")


async def test_guesses_from_many_addresses_exhaust_the_accounts_budget_for_new_clients_but_not_known_ones(
        user_service, domain_clock):
    await register(user_service, "alice")
    owner, _ = await log_in(user_service, address="198.51.100.1")
    for i in range(20):
        with pytest.raises(InvalidCredentials):
            await log_in(user_service, password="wrong password", address=f"203.0.113.{i}")
    with pytest.raises(TooManyLoginAttempts) as caught:
        await log_in(user_service, address="192.0.2.1")  # the right password, from a new client
    assert 0 < caught.value.details["retry_after"] <= 15 * 60
    pair, principal = await log_in(user_service, address="192.0.2.77", client=owner.client_token)
    assert pair.client_token == owner.client_token
    domain_clock.advance(dt.timedelta(seconds=caught.value.details["retry_after"]))
    await log_in(user_service, address="192.0.2.1")


async def test_a_client_token_is_known_only_to_the_account_that_logged_in_with_it(user_service):
    await register(user_service, "alice")
    await register(user_service, "mallory")
    theirs, _ = await log_in(user_service, login="mallory", address="203.0.113.9")
    for i in range(20):
        with pytest.raises(InvalidCredentials):
            await log_in(user_service, password="wrong password", address=f"203.0.113.{i}")
    with pytest.raises(TooManyLoginAttempts):
        await log_in(user_service, address="203.0.113.9", client=theirs.client_token)
    with pytest.raises(TooManyLoginAttempts):
        await log_in(user_service, address="203.0.113.9", client="made-up-token-0123456789abcdef")


async def test_clients_known_before_a_password_change_are_strangers_after_it(user_service):
    alice = await register(user_service, "alice")
    before, principal = await log_in(user_service, address="192.0.2.1")
    await user_service.update_profile(principal, uc.UpdateProfile(
        user_id=alice.id, password="a brand new secret", current_password=GOOD_PASSWORD))
    for i in range(20):
        with pytest.raises(InvalidCredentials):
            await log_in(user_service, password="wrong password", address=f"203.0.113.{i}")
    with pytest.raises(TooManyLoginAttempts):
        await log_in(user_service, password="a brand new secret", address="192.0.2.1",
                     client=before.client_token)


async def test_a_known_client_has_its_own_limit(user_service):
    await register(user_service, "alice")
    known, _ = await log_in(user_service)
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            await log_in(user_service, password="wrong password", client=known.client_token)
    with pytest.raises(TooManyLoginAttempts):
        await log_in(user_service, client=known.client_token)
    await log_in(user_service, address="198.51.100.1")


async def test_every_login_hands_out_a_client_token_and_keeps_a_valid_one(user_service):
    await register(user_service, "alice")
    first, _ = await log_in(user_service)
    second, _ = await log_in(user_service, client=first.client_token)
    fresh, _ = await log_in(user_service, client="no good")
    assert first.client_token and second.client_token == first.client_token
    assert fresh.client_token not in (None, first.client_token)


async def test_attempts_the_server_could_not_carry_out_do_not_count_against_the_client(user_service, domain_hasher):
    class BusyAtFirst:
        """The real hasher behind a queue that is full for the first ``busy`` calls."""

        def __init__(self, busy: int) -> None:
            self.busy = busy

        async def hash(self, password):
            return await self.check_busy() or await domain_hasher.hash(password)

        async def verify(self, password_hash, password):
            return await self.check_busy() or await domain_hasher.verify(password_hash, password)

        async def check_busy(self):
            if self.busy:
                self.busy -= 1
                raise PasswordHashingBusy(retry_after=1)

    await register(user_service, "alice")
    user_service.hasher = BusyAtFirst(busy=10)
    for _ in range(10):
        with pytest.raises(PasswordHashingBusy):
            await log_in(user_service, address="203.0.113.9")
    await log_in(user_service, address="203.0.113.9")
    user_service.hasher = BusyAtFirst(busy=5)
    user_service.limits = attrs.evolve(user_service.limits, registrations_per_address=1)
    for _ in range(5):
        with pytest.raises(PasswordHashingBusy):
            await user_service.register(sign_up("bob", "bob@example.com", address="203.0.113.9"))
    await user_service.register(sign_up("bob", "bob@example.com", address="203.0.113.9"))


# -- tokens ----------------------------------------------------------------------------------------


async def test_refresh_rotates_and_the_previous_refresh_token_then_revokes_the_session(user_service):
    await register(user_service, "alice")
    first, _ = await log_in(user_service)
    second = await user_service.refresh(first.refresh_token)
    assert second.refresh_token != first.refresh_token
    third = await user_service.refresh(second.refresh_token)
    await user_service.authenticate(third.access_token)
    with pytest.raises(InvalidToken):
        await user_service.refresh(first.refresh_token)
    with pytest.raises(InvalidToken):
        await user_service.refresh(third.refresh_token)
    with pytest.raises(InvalidToken):
        await user_service.authenticate(third.access_token)


async def test_an_access_token_is_not_accepted_as_a_refresh_token(user_service):
    await register(user_service, "alice")
    pair, _ = await log_in(user_service)
    with pytest.raises(InvalidToken):
        await user_service.refresh(pair.access_token)
    with pytest.raises(InvalidToken):
        await user_service.authenticate(pair.refresh_token)


async def test_an_access_token_expires_after_15_minutes_but_refresh_gives_a_new_one(user_service, domain_clock):
    await register(user_service, "alice")
    pair, _ = await log_in(user_service)
    domain_clock.advance(dt.timedelta(minutes=15))
    with pytest.raises(InvalidToken):
        await user_service.authenticate(pair.access_token)
    fresh = await user_service.refresh(pair.refresh_token)
    await user_service.authenticate(fresh.access_token)


async def test_a_session_expires_after_7_days_without_refresh(user_service, domain_clock):
    await register(user_service, "alice")
    pair, _ = await log_in(user_service)
    domain_clock.advance(dt.timedelta(days=7))
    with pytest.raises(InvalidToken):
        await user_service.refresh(pair.refresh_token)


async def test_logout_without_refresh_token_ends_this_session_only(user_service):
    await register(user_service, "alice")
    phone, phone_principal = await log_in(user_service)
    laptop, _ = await log_in(user_service)
    await user_service.logout(phone_principal)
    with pytest.raises(InvalidToken):
        await user_service.authenticate(phone.access_token)
    with pytest.raises(InvalidToken):
        await user_service.refresh(phone.refresh_token)
    await user_service.authenticate(laptop.access_token)
    await user_service.refresh(laptop.refresh_token)


async def test_logout_with_the_refresh_token_of_another_own_session_ends_both(user_service, domain_outbox):
    await register(user_service, "alice")
    phone, phone_principal = await log_in(user_service)
    laptop, laptop_principal = await log_in(user_service)
    await user_service.logout(phone_principal, laptop.refresh_token)
    for pair in (phone, laptop):
        with pytest.raises(InvalidToken):
            await user_service.authenticate(pair.access_token)
        with pytest.raises(InvalidToken):
            await user_service.refresh(pair.refresh_token)
    last = list(domain_outbox.events)[-3:]
    assert [e.name for e in last] == ["user.logged_out", "user.sessions_revoked", "user.sessions_revoked"]
    assert [(e.session_id, e.reason) for e in last[1:]] == [(phone_principal.session_id, "logout"),
                                                           (laptop_principal.session_id, "logout")]


async def test_logout_with_someone_elses_refresh_token_is_refused_and_changes_nothing(user_service, domain_outbox):
    await register(user_service, "alice")
    await register(user_service, "bob")
    alice, alice_principal = await log_in(user_service)
    bob, _ = await log_in(user_service, login="bob")
    published = len(domain_outbox.events)
    with pytest.raises(InvalidToken):
        await user_service.logout(alice_principal, bob.refresh_token)
    await user_service.authenticate(alice.access_token)
    await user_service.authenticate(bob.access_token)
    assert len(domain_outbox.events) == published
    await user_service.refresh(alice.refresh_token)
    await user_service.refresh(bob.refresh_token)


async def test_a_logged_out_access_token_is_refused_even_after_a_new_login(user_service):
    await register(user_service, "alice")
    pair, principal = await log_in(user_service)
    await user_service.logout(principal)
    await log_in(user_service)
    with pytest.raises(InvalidToken):
        await user_service.authenticate(pair.access_token)


# -- profiles --------------------------------------------------------------------------------------


async def test_a_profile_is_private_only_for_its_owner_and_administrators(user_service):
    alice = await register(user_service, "alice")
    await register(user_service, "bob")
    await register(user_service, "root", admin=True)
    _, as_alice = await log_in(user_service)
    _, as_bob = await log_in(user_service, login="bob")
    _, as_root = await log_in(user_service, login="root")
    for principal, private in ((as_alice, True), (as_bob, False), (as_root, True)):
        user, allowed = await user_service.get_user(principal, alice.id)
        assert user.id == alice.id and allowed is private


async def test_getting_an_unknown_user_is_not_found(user_service):
    await register(user_service, "alice")
    _, principal = await log_in(user_service)
    with pytest.raises(UserNotFound):
        await user_service.get_user(principal, "00000000-0000-0000-0000-000000000000")


async def test_a_user_updates_their_own_profile_with_normalised_fields(user_service, domain_outbox):
    alice = await register(user_service, "alice")
    _, principal = await log_in(user_service)
    user = await user_service.update_profile(principal, uc.UpdateProfile(
        user_id=alice.id, username=" alice2 ", email="ALICE2@example.com", display_name=" Alice  L ",
        current_password=GOOD_PASSWORD))
    assert (user.username, user.email, user.display_name) == ("alice2", "alice2@example.com", "Alice L")
    assert domain_outbox.events[-2].fields == ("username", "email", "display_name")
    assert (domain_outbox.events[-1].name, domain_outbox.events[-1].email) == (
        "user.email_verification_requested", "alice2@example.com")
    await log_in(user_service, login="alice2")


async def test_an_update_that_changes_nothing_publishes_nothing(user_service, domain_outbox):
    alice = await register(user_service, "alice")
    _, principal = await log_in(user_service)
    published = len(domain_outbox.events)
    await user_service.update_profile(principal, uc.UpdateProfile(user_id=alice.id, username="alice"))
    assert len(domain_outbox.events) == published


async def test_a_user_cannot_update_someone_else_but_an_admin_can(user_service):
    alice = await register(user_service, "alice")
    await register(user_service, "bob")
    await register(user_service, "root", admin=True)
    _, as_bob = await log_in(user_service, login="bob")
    _, as_root = await log_in(user_service, login="root")
    with pytest.raises(NotAllowed):
        await user_service.update_profile(as_bob, uc.UpdateProfile(user_id=alice.id, display_name="Hacked"))
    user = await user_service.update_profile(as_root, uc.UpdateProfile(user_id=alice.id, display_name="Al"))
    assert user.display_name == "Al"


async def test_an_update_to_a_taken_username_or_email_is_refused_and_stores_nothing(user_service, domain_users):
    alice = await register(user_service, "alice")
    await register(user_service, "bob")
    _, principal = await log_in(user_service)
    with pytest.raises(UsernameTaken):
        await user_service.update_profile(principal, uc.UpdateProfile(user_id=alice.id, username="BOB"))
    with pytest.raises(EmailTaken):
        await user_service.update_profile(principal, uc.UpdateProfile(user_id=alice.id, email="bob@example.com",
                                                                      current_password=GOOD_PASSWORD))
    assert (await domain_users.get(alice.id)) == alice


async def test_a_password_change_needs_the_current_password(user_service):
    alice = await register(user_service, "alice")
    _, principal = await log_in(user_service)
    for current in (None, "not the password"):
        with pytest.raises(InvalidCredentials):
            await user_service.update_profile(principal, uc.UpdateProfile(
                user_id=alice.id, password="a brand new secret", current_password=current))
    await log_in(user_service)


async def test_changing_ones_email_needs_the_current_password_and_leaves_it_unverified(user_service,
                                                                                        domain_users):
    alice = await register(user_service, "alice")
    assert (alice.email_verified, alice.invitation_email) == (True, "alice@example.com")
    _, principal = await log_in(user_service)
    for current in (None, "not the password"):
        with pytest.raises(InvalidCredentials) as caught:
            await user_service.update_profile(principal, uc.UpdateProfile(
                user_id=alice.id, email="invited@example.com", current_password=current))
        assert caught.value.details == {"field": "current_password"}
    assert (await domain_users.get(alice.id)).email == "alice@example.com"
    user = await user_service.update_profile(principal, uc.UpdateProfile(
        user_id=alice.id, email="invited@example.com", current_password=GOOD_PASSWORD))
    assert (user.email, user.email_verified, user.invitation_email) == ("invited@example.com", False, None)
    assert await domain_users.get(alice.id) == user


async def test_other_profile_fields_and_the_same_email_need_no_password(user_service):
    alice = await register(user_service, "alice")
    _, principal = await log_in(user_service)
    user = await user_service.update_profile(principal, uc.UpdateProfile(
        user_id=alice.id, email="ALICE@example.com", display_name="Al", username="alice_l"))
    assert (user.email_verified, user.display_name) == (True, "Al")


async def test_an_admin_changes_someones_email_without_their_password_and_it_stays_unverified(user_service):
    alice = await register(user_service, "alice")
    await register(user_service, "root", admin=True)
    _, as_root = await log_in(user_service, login="root")
    user = await user_service.update_profile(as_root, uc.UpdateProfile(user_id=alice.id, email="new@example.com"))
    assert (user.email, user.invitation_email) == ("new@example.com", None)


async def test_current_password_guesses_with_a_stolen_token_are_throttled(user_service):
    alice = await register(user_service, "alice")
    _, principal = await log_in(user_service)
    for i in range(5):
        with pytest.raises(InvalidCredentials):
            await user_service.update_profile(principal, uc.UpdateProfile(
                user_id=alice.id, email="thief@example.com", current_password=f"guess {i}"))
    with pytest.raises(TooManyLoginAttempts):
        await user_service.update_profile(principal, uc.UpdateProfile(
            user_id=alice.id, password="a brand new secret", current_password=GOOD_PASSWORD))


async def test_a_new_password_must_meet_the_policy(user_service):
    alice = await register(user_service, "alice")
    _, principal = await log_in(user_service)
    with pytest.raises(WeakPassword):
        await user_service.update_profile(principal, uc.UpdateProfile(
            user_id=alice.id, password="password", current_password=GOOD_PASSWORD))


async def test_a_password_change_revokes_every_session_and_the_new_password_works(user_service):
    alice = await register(user_service, "alice")
    phone, principal = await log_in(user_service)
    laptop, _ = await log_in(user_service)
    await user_service.update_profile(principal, uc.UpdateProfile(
        user_id=alice.id, password="a brand new secret", current_password=GOOD_PASSWORD))
    for pair in (phone, laptop):
        with pytest.raises(InvalidToken):
            await user_service.authenticate(pair.access_token)
        with pytest.raises(InvalidToken):
            await user_service.refresh(pair.refresh_token)
    with pytest.raises(InvalidCredentials):
        await log_in(user_service)
    await log_in(user_service, password="a brand new secret")


async def test_a_session_older_than_the_users_security_version_cannot_refresh_even_if_revoking_it_failed(
        user_service):
    class RevocationFails:
        """A session store whose revoke_user is down, as Redis may be just after the user was saved."""

        def __init__(self, inner):
            self.inner = inner

        def __getattr__(self, name):
            return getattr(self.inner, name)

        async def revoke_user(self, user_id, security_version):
            raise Unavailable("redis cannot be reached")

    alice = await register(user_service, "alice")
    pair, principal = await log_in(user_service)
    store = user_service.sessions
    user_service.sessions = RevocationFails(store)
    with pytest.raises(Unavailable):
        await user_service.update_profile(principal, uc.UpdateProfile(
            user_id=alice.id, password="a brand new secret", current_password=GOOD_PASSWORD))
    user_service.sessions = store
    with pytest.raises(InvalidToken):
        await user_service.refresh(pair.refresh_token)
    with pytest.raises(InvalidToken):
        await user_service.authenticate(pair.access_token)  # the refresh attempt ended the session


async def test_an_admin_cannot_set_someone_elses_password(user_service):
    alice = await register(user_service, "alice")
    await register(user_service, "root", admin=True)
    _, as_root = await log_in(user_service, login="root")
    with pytest.raises(NotAllowed):
        await user_service.update_profile(as_root, uc.UpdateProfile(
            user_id=alice.id, password="a brand new secret", current_password=GOOD_PASSWORD))


async def test_a_profile_update_retries_when_someone_else_saved_first(user_service, domain_users):
    alice = await register(user_service, "alice")
    _, principal = await log_in(user_service)
    units, raced = user_service.uow, []

    def racing_units():
        """Units whose first user save finds that someone else saved the user meanwhile (for real)."""
        unit = units()
        save = unit.users.save

        async def save_after_someone_else(user) -> None:
            if not raced:
                other = await domain_users.get(user.id)
                other.update_profile(now=START, display_name="Someone else")
                await domain_users.save(other)
                raced.append(other.version)
            await save(user)

        unit.users.save = save_after_someone_else
        return unit

    user_service.uow = racing_units
    user = await user_service.update_profile(principal, uc.UpdateProfile(user_id=alice.id, display_name="Al"))
    stored = await domain_users.get(alice.id)
    assert raced and stored.display_name == user.display_name == "Al" and stored.version == raced[0] + 1


# -- administration --------------------------------------------------------------------------------


async def test_only_admins_list_users_and_search_matches_name_email_or_display_name(user_service, domain_clock):
    await register(user_service, "root", admin=True)
    for name in ("alice", "bob", "carol"):
        domain_clock.advance(dt.timedelta(seconds=1))
        await register(user_service, name)
    _, as_root = await log_in(user_service, login="root")
    _, as_alice = await log_in(user_service)
    with pytest.raises(NotAllowed):
        await user_service.list_users(as_alice, "", PageRequest())
    everyone = await user_service.list_users(as_root, "  ", PageRequest())
    assert [u.username for u in everyone.items] == ["root", "alice", "bob", "carol"]
    assert everyone.total == 4
    found = await user_service.list_users(as_root, " CAR ", PageRequest())
    assert [u.username for u in found.items] == ["carol"]
    by_email = await user_service.list_users(as_root, "bob@EXAMPLE", PageRequest())
    assert [u.username for u in by_email.items] == ["bob"]


async def test_listing_users_pages_through_them_in_registration_order(user_service, domain_clock):
    await register(user_service, "root", admin=True)
    for i in range(5):
        domain_clock.advance(dt.timedelta(seconds=1))
        await register(user_service, f"user{i}")
    _, as_root = await log_in(user_service, login="root")
    pages = [await user_service.list_users(as_root, "user", PageRequest(offset=o, limit=2)) for o in (0, 2, 4, 6)]
    assert [[u.username for u in p.items] for p in pages] == [["user0", "user1"], ["user2", "user3"], ["user4"], []]
    assert {p.total for p in pages} == {5}
    assert (pages[1].offset, pages[1].limit) == (2, 2)


async def test_a_ban_revokes_sessions_immediately_and_blocks_login_until_unbanned(user_service, domain_outbox):
    alice = await register(user_service, "alice")
    await register(user_service, "root", admin=True)
    pair, _ = await log_in(user_service)
    _, as_root = await log_in(user_service, login="root")
    banned = await user_service.ban(as_root, alice.id)
    assert banned.banned
    assert "user.banned" in event_names(domain_outbox)
    with pytest.raises(InvalidToken):
        await user_service.authenticate(pair.access_token)
    with pytest.raises(InvalidToken):
        await user_service.refresh(pair.refresh_token)
    with pytest.raises(UserBanned):
        await log_in(user_service)
    await user_service.unban(as_root, alice.id)
    assert event_names(domain_outbox)[-1] == "user.unbanned"
    await log_in(user_service)
    with pytest.raises(InvalidToken):
        await user_service.authenticate(pair.access_token)


async def test_a_banned_user_with_a_wrong_password_gets_invalid_credentials_not_banned(user_service):
    alice = await register(user_service, "alice")
    await register(user_service, "root", admin=True)
    _, as_root = await log_in(user_service, login="root")
    await user_service.ban(as_root, alice.id)
    with pytest.raises(InvalidCredentials):
        await log_in(user_service, password="wrong password")


async def test_only_admins_ban_and_nobody_bans_themselves(user_service):
    alice = await register(user_service, "alice")
    root = await register(user_service, "root", admin=True)
    _, as_alice = await log_in(user_service)
    _, as_root = await log_in(user_service, login="root")
    with pytest.raises(NotAllowed):
        await user_service.ban(as_alice, root.id)
    with pytest.raises(NotAllowed):
        await user_service.unban(as_alice, alice.id)
    with pytest.raises(NotAllowed):
        await user_service.ban(as_root, root.id)


async def test_set_role_is_for_admins_on_others_and_revokes_the_targets_sessions(user_service):
    alice = await register(user_service, "alice")
    root = await register(user_service, "root", admin=True)
    pair, as_alice = await log_in(user_service)
    _, as_root = await log_in(user_service, login="root")
    with pytest.raises(NotAllowed):
        await user_service.set_role(as_alice, uc.SetRole(user_id=alice.id, role=Role.ADMIN))
    with pytest.raises(NotAllowed):
        await user_service.set_role(as_root, uc.SetRole(user_id=root.id, role=Role.USER))
    promoted = await user_service.set_role(as_root, uc.SetRole(user_id=alice.id, role=Role.ADMIN))
    assert promoted.role is Role.ADMIN
    with pytest.raises(InvalidToken):
        await user_service.authenticate(pair.access_token)
    _, again = await log_in(user_service)
    assert again.is_admin


async def test_ensure_admin_creates_the_admin_once(user_service):
    first = await user_service.ensure_admin("root", "root@example.com", GOOD_PASSWORD)
    second = await user_service.ensure_admin("root", "root@example.com", GOOD_PASSWORD)
    assert first.is_admin and second.id == first.id
    _, principal = await log_in(user_service, login="root")
    assert principal.is_admin


async def test_ensure_admin_promotes_an_existing_user_of_that_name(user_service):
    existing = await register(user_service, "root")
    promoted = await user_service.ensure_admin("ROOT", "other@example.com", "another password")
    assert promoted.id == existing.id and promoted.is_admin


async def test_every_revocation_announces_which_sessions_ended(user_service, domain_outbox):
    alice = await register(user_service, "alice")
    await register(user_service, "root", admin=True)
    _, as_root = await log_in(user_service, login="root")
    _, as_alice = await log_in(user_service)

    def revoked():
        return [(e.user_id, e.reason, e.session_id, e.security_version)
                for e in domain_outbox.events if e.name == "user.sessions_revoked"]

    await user_service.update_profile(as_alice, uc.UpdateProfile(
        user_id=alice.id, password="a brand new secret", current_password=GOOD_PASSWORD))
    await user_service.set_role(as_root, uc.SetRole(user_id=alice.id, role=Role.ADMIN))
    await user_service.ban(as_root, alice.id)
    assert revoked() == [(alice.id, "password_changed", None, 1), (alice.id, "role_changed", None, 2),
                         (alice.id, "banned", None, 3)]
