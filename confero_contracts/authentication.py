"""Authenticator and UserDirectory contracts (ports/users.py): token and session checks and lookups by
id, as other services see the users domain (in process or over gRPC).  Errors by exact class.

Fixtures: ``harness`` (an AuthenticationHarness: the adapters under test and ways to sign people in and
out that go straight to the users domain).
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

import pytest

from domain.shared.ids import UserId, new_id
from domain.users.errors import InvalidToken, UserNotFound
from domain.users.model import Role
from domain.users.tokens import TokenPair
from ports.users import Authenticator, UserDirectory


class AuthenticationHarness(Protocol):
    authenticator: Authenticator
    directory: UserDirectory

    async def register(self, username: str, display_name: str, *, admin: bool = False) -> UserId: ...
    async def sign_in(self, username: str) -> TokenPair: ...
    async def sign_out(self, tokens: TokenPair) -> None: ...
    async def ban(self, user_id: UserId) -> None: ...


def _name(stem: str) -> str:
    return f"{stem}{new_id()[:8]}"


async def raises_exactly(error: type[Exception], call) -> Exception:  # type: ignore[no-untyped-def]
    with pytest.raises(Exception) as caught:
        await call
    assert type(caught.value) is error, f"{type(caught.value).__name__} instead of {error.__name__}"
    return caught.value


class AuthenticatorContract:
    @pytest.fixture
    async def harness(self) -> AuthenticationHarness:
        raise NotImplementedError

    async def test_a_live_token_names_its_user_session_and_role(self, harness):
        name = _name("ann")
        user_id = await harness.register(name, "Ann", admin=True)
        tokens = await harness.sign_in(name)
        got = await harness.authenticator.authenticate(tokens.access_token)
        assert got.user_id == user_id and got.role is Role.ADMIN and got.is_admin
        assert got.session_id and got.token_id and got.expires_at > dt.datetime.now(dt.timezone.utc)
        assert got == await harness.authenticator.authenticate(tokens.access_token)

    async def test_a_signed_out_session_ends_its_tokens(self, harness):
        name = _name("bob")
        await harness.register(name, "Bob")
        tokens = await harness.sign_in(name)
        await harness.authenticator.authenticate(tokens.access_token)
        await harness.sign_out(tokens)
        await raises_exactly(InvalidToken, harness.authenticator.authenticate(tokens.access_token))

    @pytest.mark.parametrize("token", ["", "not-a-token", "a.b.c", "x" * 5000])
    async def test_malformed_tokens_are_invalid(self, harness, token):
        await raises_exactly(InvalidToken, harness.authenticator.authenticate(token))

    async def test_a_refresh_token_is_no_access_token(self, harness):
        name = _name("cat")
        await harness.register(name, "Cat")
        tokens = await harness.sign_in(name)
        await raises_exactly(InvalidToken, harness.authenticator.authenticate(tokens.refresh_token))


class UserDirectoryContract:
    @pytest.fixture
    async def harness(self) -> AuthenticationHarness:
        raise NotImplementedError

    async def test_a_user_is_found_by_id_without_private_fields(self, harness):
        name = _name("dora")
        user_id = await harness.register(name, "Dora «the» Explorer 🧭")
        got = await harness.directory.summary(user_id)
        assert (got.id, got.username, got.display_name, got.role, got.banned) == (
            user_id, name, "Dora «the» Explorer 🧭", Role.USER, False)
        assert not hasattr(got, "email") and not hasattr(got, "password_hash")

    async def test_a_ban_shows(self, harness):
        user_id = await harness.register(_name("eve"), "Eve")
        await harness.ban(user_id)
        assert (await harness.directory.summary(user_id)).banned is True

    async def test_an_unknown_user_is_not_found(self, harness):
        await raises_exactly(UserNotFound, harness.directory.summary(UserId(new_id())))
