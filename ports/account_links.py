"""One-time account links (email verification, password reset), stored by their token's hash."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from domain.users.links import AccountLink


class AccountLinkStore(Protocol):
    """The links, as a unit of work sees them (``uow.account_links``): writes are part of the unit.

    - ``add`` stages a new link; the unit's commit stores it (a hash already stored makes the commit
      raise AlreadyExists: with 256-bit tokens, a bug).
    - ``find`` returns the stored link with that token hash (used or not, expired or not) or None;
      it sees committed state and the unit's own ``add``s.
    - ``consume`` stages "mark this link used at ``now``".  The commit marks it only if the link is
      stored, unused and unexpired at ``now``, in the same atomic step as the unit's other writes;
      otherwise the commit raises LinkInvalid and writes nothing of the unit.  Of any number of units
      consuming one link concurrently, at most one commits: a link is used once.
    - ``forget_expired(before)`` stages "delete every link that expired before ``before``", used or
      not; the commit runs it with the unit's other writes.
    Any method (and the commit) may raise Unavailable.
    """

    async def add(self, link: AccountLink) -> None: ...
    async def find(self, token_hash: str) -> AccountLink | None: ...
    async def consume(self, token_hash: str, now: dt.datetime) -> None: ...
    async def forget_expired(self, before: dt.datetime) -> None: ...
