"""Use cases of the one-time account links: email verification and password reset."""

from __future__ import annotations

import datetime as dt

from attrs import define

from domain.shared.errors import ConcurrentModification
from domain.users.errors import (
    EmailAlreadyVerified,
    LinkInvalid,
    TooManyLinkRequests,
    UserNotFound,
)
from domain.users.links import (
    AccountLink,
    LinkLimits,
    LinkPolicy,
    LinkPurpose,
    reset_link,
    token_hash,
    verification_link,
    well_formed,
)
from domain.users.model import User, check_password_policy, normalize_email
from domain.users.tokens import Principal
from ports.clock import Clock
from ports.uow import UnitOfWorkFactory
from ports.users import LoginThrottle, PasswordHasher, SessionStore, UserRepository

SAVE_ATTEMPTS = 5
FORGET_AFTER = dt.timedelta(days=1)
INVALID = "this link is invalid, expired or already used"


@define(kw_only=True)
class AccountLinkService:
    users: UserRepository
    hasher: PasswordHasher
    sessions: SessionStore
    throttle: LoginThrottle
    uow: UnitOfWorkFactory  # the link, the user's change and its events commit together
    clock: Clock
    policy: LinkPolicy = LinkPolicy()
    limits: LinkLimits = LinkLimits()

    async def resend_verification(self, actor: Principal) -> None:
        """Rules: the signed-in owner asks for a new link to its current, unverified address (409 when
        verified); a few per hour.  Earlier links stay valid until they expire."""
        now = self.clock.now()
        reservation = await self.throttle.reserve(self.limits.resend_buckets(actor.user_id), now)
        if not reservation.granted:
            raise TooManyLinkRequests(retry_after=reservation.retry_after)
        user = await self.users.get(actor.user_id)
        if user.email_verified:
            await self.throttle.release(reservation)
            raise EmailAlreadyVerified("this email address is verified already")
        link = verification_link(user, now=now, ttl=self.policy.verify_ttl)
        await self._add_link(user, link)

    async def confirm_email(self, token: str) -> User:
        """Rules: the link is a verification link, unused and unexpired, and the account's address is
        still the one it was sent to; confirming uses the link up and marks the address verified."""
        hashed = self._hash(token)
        for _ in range(SAVE_ATTEMPTS):
            now = self.clock.now()
            async with self.uow() as uow:
                link = self._usable(await uow.account_links.find(hashed), LinkPurpose.VERIFY_EMAIL, now)
                user = await self._owner(uow, link)
                if not user.verify_email(link.email, now=now):
                    raise LinkInvalid(INVALID)
                await uow.account_links.consume(hashed, now)
                try:
                    await uow.users.save(user)
                    await uow.commit()
                except ConcurrentModification:
                    continue
                return user
        raise ConcurrentModification("the user kept changing; try again")

    async def request_password_reset(self, email: str, client_address: str) -> None:
        """``admit_reset_request`` then ``send_reset_link`` (runners answer between the two, so the
        reply's timing does not depend on whether the account exists)."""
        await self.send_reset_link(await self.admit_reset_request(email, client_address))

    async def admit_reset_request(self, email: str, client_address: str) -> str:
        """Rules: a valid address; counted per email as typed and per client address whether or not an
        account has it (429 tells nothing).  Returns the normalised address for ``send_reset_link``."""
        address = normalize_email(email)
        reservation = await self.throttle.reserve(self.limits.reset_buckets(address, client_address),
                                                  self.clock.now())
        if not reservation.granted:
            raise TooManyLinkRequests(retry_after=reservation.retry_after)
        return address

    async def send_reset_link(self, address: str) -> None:
        """A reset link for the account with this (normalised) address, only if it exists and is not
        banned; nothing otherwise."""
        user = await self.users.find_by_email(address)
        if user is None or user.banned:
            return
        await self._add_link(user, reset_link(user, now=self.clock.now(), ttl=self.policy.reset_ttl))

    async def reset_password(self, token: str, new_password: str) -> User:
        """Rules: a reset link, unused, unexpired, issued at the account's current security version (any
        password change, reset or ban since voids it) to its current address, for an account not banned;
        the password policy applies.  The link is used up, PasswordChanged is raised and every session
        of the account ends (its security version goes up)."""
        hashed = self._hash(token)
        new_hash: str | None = None
        for _ in range(SAVE_ATTEMPTS):
            now = self.clock.now()
            async with self.uow() as uow:
                link = self._usable(await uow.account_links.find(hashed), LinkPurpose.RESET_PASSWORD, now)
                user = await self._owner(uow, link)
                if user.banned or user.security_version != link.security_version or user.email != link.email:
                    raise LinkInvalid(INVALID)
                if new_hash is None:  # argon2 is slow: once, whatever the retries
                    check_password_policy(new_password, username=user.username, email=user.email)
                    new_hash = await self.hasher.hash(new_password)
                user.change_password(new_hash, now=now, reset=True)
                # Consumed before the user's write: of two racing resets the loser fails on the link.
                await uow.account_links.consume(hashed, now)
                try:
                    await uow.users.save(user)
                    await uow.commit()
                except ConcurrentModification:
                    continue
            await self.sessions.revoke_user(user.id, user.security_version)
            return user
        raise ConcurrentModification("the user kept changing; try again")

    async def _add_link(self, user: User, link: AccountLink) -> None:
        async with self.uow() as uow:
            # Housekeeping rides on issuing: links dead for a day go, so the table stays the size of
            # the links still in play.
            await uow.account_links.forget_expired(link.created_at - FORGET_AFTER)
            await uow.account_links.add(link)
            uow.collect(*user.pull_events())
            await uow.commit()

    @staticmethod
    def _hash(token: str) -> str:
        if not well_formed(token):
            raise LinkInvalid(INVALID)
        return token_hash(token)

    @staticmethod
    def _usable(link: AccountLink | None, purpose: LinkPurpose, now) -> AccountLink:  # type: ignore[no-untyped-def]
        if link is None or link.purpose is not purpose or not link.usable(now):
            raise LinkInvalid(INVALID)
        return link

    @staticmethod
    async def _owner(uow, link: AccountLink) -> User:  # type: ignore[no-untyped-def]
        try:
            return await uow.users.get(link.user_id)
        except UserNotFound:
            raise LinkInvalid(INVALID) from None
