"""One-time account links in memory; units of work stage their writes here (adapters/memory/unit_of_work.py)."""

from __future__ import annotations

import datetime as dt

from attrs import evolve

from domain.shared.errors import AlreadyExists
from domain.users.errors import LinkInvalid
from domain.users.links import AccountLink


class InMemoryAccountLinkStore:
    """The committed links by token hash.  ``insert`` and ``consume`` never suspend, so a unit's commit
    applies them with its other writes in one step."""

    def __init__(self) -> None:
        self._by_id: dict[str, AccountLink] = {}  # named like the other stores: the unit rolls back by it

    async def find(self, token_hash: str) -> AccountLink | None:
        link = self._by_id.get(token_hash)
        return evolve(link) if link is not None else None

    async def insert(self, link: AccountLink) -> None:
        if link.token_hash in self._by_id:
            raise AlreadyExists("link exists")
        self._by_id[link.token_hash] = evolve(link)

    async def consume(self, token_hash: str, now: dt.datetime) -> None:
        link = self._by_id.get(token_hash)
        if link is None or not link.usable(now):
            raise LinkInvalid("this link is invalid, expired or already used")
        self._by_id[token_hash] = evolve(link, used_at=now)

    async def forget_expired(self, before: dt.datetime) -> None:
        for token_hash in [h for h, link in self._by_id.items() if link.expires_at < before]:
            del self._by_id[token_hash]
