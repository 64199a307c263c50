"""UnitOfWork of the memory family: changes are staged in the unit and applied, with their events
appended to the outbox, in one step at commit (no await suspends it, so no other task sees half)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adapters.memory.account_links import InMemoryAccountLinkStore
from adapters.memory.meetings import InMemoryMeetingRepository
from adapters.memory.outbox import InMemoryOutbox
from adapters.memory.users import InMemoryUserRepository
from adapters.tracking import Tracked, UnitLifecycle
from domain.meetings.errors import MeetingNotFound
from domain.shared.errors import ConcurrentModification, DomainError
from domain.users.errors import UserNotFound

_GONE = object()


class _Staged:
    """A memory repository seen through a unit: reads see the unit's own writes, writes wait for commit.
    ``save`` checks the version at once (so a service retries early) and again at commit."""

    def __init__(self, store: Any, not_found: Callable[[str], DomainError], ops: list[Callable[[], Any]],
                 touched: list[tuple[Any, str]]) -> None:
        self._store = store
        self._not_found = not_found
        self._ops = ops
        self._touched = touched
        self._staged: dict[str, Any] = {}

    async def get(self, key: str) -> Any:
        staged = self._staged.get(key)
        if staged is _GONE:
            raise self._not_found(key)
        return staged.copy() if staged is not None else await self._store.get(key)

    async def add(self, aggregate: Any) -> None:
        copy = aggregate.copy()
        self._stage(aggregate.id, copy, lambda: self._store.add(copy))

    async def save(self, aggregate: Any) -> None:
        current = await self.get(aggregate.id)
        if current.version != aggregate.version:
            raise ConcurrentModification("changed by someone else")
        stored = aggregate.copy()  # at the loaded version: the store checks it again at commit
        aggregate.version += 1
        self._stage(aggregate.id, aggregate.copy(), lambda: self._store.save(stored))

    async def delete(self, key: str) -> None:
        await self.get(key)
        self._stage(key, _GONE, lambda: self._store.delete(key))

    def _stage(self, key: str, value: Any, op: Callable[[], Any]) -> None:
        self._staged[key] = value
        self._ops.append(op)
        self._touched.append((self._store, key))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)  # queries see committed state only


class _StagedLinks:
    """Account links seen through a unit: ``add`` and ``consume`` run at commit, with the other writes."""

    def __init__(self, store: InMemoryAccountLinkStore, ops: list[Callable[[], Any]],
                 touched: list[tuple[Any, str]]) -> None:
        self._store = store
        self._ops = ops
        self._touched = touched
        self._added: dict[str, Any] = {}

    async def add(self, link: Any) -> None:
        self._added[link.token_hash] = link
        self._stage(link.token_hash, lambda: self._store.insert(link))

    async def find(self, token_hash: str) -> Any:
        return self._added.get(token_hash) or await self._store.find(token_hash)

    async def consume(self, token_hash: str, now: Any) -> None:
        self._stage(token_hash, lambda: self._store.consume(token_hash, now))

    async def forget_expired(self, before: Any) -> None:
        # Deleting only rows nobody can use any more: nothing to take back should the unit fail later.
        self._ops.append(lambda: self._store.forget_expired(before))

    def _stage(self, key: str, op: Callable[[], Any]) -> None:
        self._ops.append(op)
        self._touched.append((self._store, key))


class InMemoryUnitOfWork(UnitLifecycle):
    def __init__(self, meetings: InMemoryMeetingRepository, users: InMemoryUserRepository, outbox: InMemoryOutbox,
                 on_commit: Callable[[], None] | None = None,
                 account_links: InMemoryAccountLinkStore | None = None) -> None:
        self._stores = (meetings, users)
        self._outbox = outbox
        self._on_commit = on_commit
        self._ops: list[Callable[[], Any]] = []
        self._touched: list[tuple[Any, str]] = []
        super().__init__()
        self.meetings: Any = Tracked(_Staged(meetings, lambda k: MeetingNotFound("no such meeting", meeting_id=k),
                                             self._ops, self._touched), self._events)
        self.users: Any = Tracked(_Staged(users, lambda k: UserNotFound("no such user", user_id=k),
                                          self._ops, self._touched), self._events)
        self.account_links: Any = _StagedLinks(account_links if account_links is not None
                                               else InMemoryAccountLinkStore(), self._ops, self._touched)

    async def commit(self) -> None:
        events = self._finish()
        # The stores' methods never suspend, so from here to the outbox append no other task runs.
        before = {(id(store), key): (store, key, store._by_id.get(key)) for store, key in self._touched}
        try:
            for op in self._ops:
                await op()
        except BaseException:
            for store, key, old in before.values():
                if old is None:
                    store._by_id.pop(key, None)
                else:
                    store._by_id[key] = old
            raise
        self._outbox.append(events)
        if self._on_commit is not None and events:
            self._on_commit()


class InMemoryUnitOfWorkFactory:
    def __init__(self, meetings: InMemoryMeetingRepository, users: InMemoryUserRepository, outbox: InMemoryOutbox,
                 on_commit: Callable[[], None] | None = None,
                 account_links: InMemoryAccountLinkStore | None = None) -> None:
        self.meetings, self.users, self.outbox = meetings, users, outbox
        self.account_links = account_links if account_links is not None else InMemoryAccountLinkStore()
        self._on_commit = on_commit

    def __call__(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.meetings, self.users, self.outbox, self._on_commit, self.account_links)
