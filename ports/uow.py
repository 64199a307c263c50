"""The unit of work: one transaction per use case, and the events it raises written with it."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol

from domain.shared.events import DomainEvent
from ports.account_links import AccountLinkStore
from ports.meetings import MeetingRepository
from ports.users import UserRepository


class UnitOfWork(Protocol):
    """One atomic change.  ``async with factory() as uow:`` opens it; the repositories hanging off the
    unit (``uow.meetings``, ``uow.users``) read and write with the semantics of their ports.

    - Reads see the unit's own writes first, then committed state.  A unit need not hold a snapshot
      or locks while the use case runs (PostgreSQL does not: it reads as it goes and defers every
      write to ``commit``); what a unit decided on data that changed meanwhile is refused at
      ``commit`` by the aggregates' optimistic versions, so the caller retries on a fresh load.
    - ``commit()`` makes every write of the unit durable at once together with its events: every
      event pulled from the aggregates added or saved through the unit's repositories (pulled when
      that call succeeded) and every event given to ``collect``, in the order they were added, is
      written to the outbox in the same transaction.  Nothing is visible to other units before
      ``commit`` returns; after it returns the relay of this process is woken.  ``commit`` may raise
      ConcurrentModification (another unit committed a conflicting change first; adapters may also
      raise it from ``save`` already), the repositories' not-found and uniqueness errors, or
      Unavailable; in every case nothing of the unit was written.
    - Leaving the ``async with`` block without ``commit()`` (normally or by an exception) keeps
      nothing: no write and no event of the unit.  A unit is used once; ``commit`` twice raises
      RuntimeError.
    - Entering may raise Unavailable.
    """

    meetings: MeetingRepository
    users: UserRepository
    account_links: AccountLinkStore

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None: ...

    def collect(self, *events: DomainEvent) -> None:
        """Adds events that no aggregate of this unit carries (a login, a deletion by id)."""

    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    """Returns a fresh, not yet entered unit each call (a service calls it once per use case)."""

    def __call__(self) -> UnitOfWork: ...
