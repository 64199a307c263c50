"""AccountLinkStore contract (ports/account_links.py): one-time links through a unit of work, run
against each family.  A subclass provides ``family`` as for UnitOfWorkContract (``uow``, ``users``,
``outbox`` sharing one store)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from domain.shared.errors import AlreadyExists
from domain.users.errors import LinkInvalid
from domain.users.links import AccountLink, LinkPurpose, issue_link
from confero_contracts.events import happened
from confero_contracts.factories import a_user, at
from confero_contracts.outbox import pending


def a_link(user_id: str, *, minutes: float = 30, purpose: LinkPurpose = LinkPurpose.RESET_PASSWORD) -> AccountLink:
    return issue_link(purpose, user_id=user_id, email="someone@example.com", security_version=3, now=at(0),
                      ttl=dt.timedelta(minutes=minutes)).link


class AccountLinkStoreContract:
    @pytest.fixture
    async def family(self):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    async def _stored(self, family, **kw) -> AccountLink:  # type: ignore[no-untyped-def]
        user = a_user()
        link = a_link(user.id, **kw)
        async with family.uow() as uow:
            await uow.users.add(user)
            await uow.account_links.add(link)
            await uow.commit()
        return link

    async def _consume(self, family, link: AccountLink, now: dt.datetime, n: int = 1) -> None:  # type: ignore[no-untyped-def]
        async with family.uow() as uow:
            await uow.account_links.consume(link.token_hash, now)
            uow.collect(happened(n))
            await uow.commit()

    async def test_a_committed_link_is_found_by_its_hash_and_equal(self, family):
        link = await self._stored(family)
        async with family.uow() as uow:
            assert await uow.account_links.find(link.token_hash) == link
            assert await uow.account_links.find("0" * 64) is None

    async def test_a_unit_sees_its_own_link_before_commit_and_nothing_stays_without_commit(self, family):
        user = a_user()
        link = a_link(user.id)
        async with family.uow() as uow:
            await uow.users.add(user)
            await uow.account_links.add(link)
            assert await uow.account_links.find(link.token_hash) == link
        async with family.uow() as uow:
            assert await uow.account_links.find(link.token_hash) is None

    async def test_consuming_marks_the_link_used_with_the_units_events(self, family):
        link = await self._stored(family)
        await self._consume(family, link, at(5), n=7)
        async with family.uow() as uow:
            assert (await uow.account_links.find(link.token_hash)).used_at == at(5)
        assert [getattr(e, "n", None) for e in await pending(family.outbox)][-1] == 7

    async def test_a_link_is_used_once_and_the_second_unit_writes_nothing(self, family):
        link = await self._stored(family)
        await self._consume(family, link, at(5), n=8)
        before = [e.event_id for e in await pending(family.outbox)]
        with pytest.raises(LinkInvalid):
            await self._consume(family, link, at(6), n=9)
        assert [e.event_id for e in await pending(family.outbox)] == before
        async with family.uow() as uow:
            assert (await uow.account_links.find(link.token_hash)).used_at == at(5)

    async def test_an_expired_or_unknown_link_cannot_be_consumed(self, family):
        link = await self._stored(family, minutes=30)
        with pytest.raises(LinkInvalid):
            await self._consume(family, link, at(30))  # exactly at expiry: gone
        unknown = a_link(link.user_id)
        with pytest.raises(LinkInvalid):
            await self._consume(family, unknown, at(1))
        async with family.uow() as uow:
            assert (await uow.account_links.find(link.token_hash)).used_at is None

    async def test_a_refused_consume_takes_the_units_other_writes_back(self, family):
        link = await self._stored(family, minutes=1)
        other = a_user()
        with pytest.raises(LinkInvalid):
            async with family.uow() as uow:
                await uow.users.add(other)
                await uow.account_links.consume(link.token_hash, at(2))
                await uow.commit()
        assert await family.users.find_by_email(other.email) is None

    async def test_the_same_hash_twice_is_refused(self, family):
        link = await self._stored(family)
        with pytest.raises(AlreadyExists):
            async with family.uow() as uow:
                await uow.account_links.add(link)
                await uow.commit()

    async def test_forgetting_expired_links_deletes_only_those_expired_before_the_time_and_only_at_commit(
            self, family):
        gone = await self._stored(family, minutes=10)
        kept = await self._stored(family, minutes=30)
        async with family.uow() as uow:
            await uow.account_links.forget_expired(at(20))
        async with family.uow() as uow:
            assert await uow.account_links.find(gone.token_hash) == gone  # not committed: nothing deleted
        async with family.uow() as uow:
            await uow.account_links.forget_expired(at(20))
            await uow.commit()
        async with family.uow() as uow:
            assert await uow.account_links.find(gone.token_hash) is None
            assert await uow.account_links.find(kept.token_hash) == kept

    async def test_of_concurrent_consumers_of_one_link_exactly_one_commits(self, family):
        link = await self._stored(family)
        barrier = asyncio.Barrier(4)

        async def consume(n: int) -> bool:
            async with family.uow() as uow:
                await uow.account_links.consume(link.token_hash, at(1))
                uow.collect(happened(20 + n))
                await barrier.wait()
                try:
                    await uow.commit()
                except LinkInvalid:
                    return False
                return True

        assert sorted(await asyncio.gather(*(consume(n) for n in range(4)))) == [False, False, False, True]
