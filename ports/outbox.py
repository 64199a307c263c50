from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from attrs import frozen

from domain.shared.events import DomainEvent


@frozen(kw_only=True)
class OutboxRecord:
    """A committed event waiting to be published; ``position`` grows with commit order."""

    position: int
    event: DomainEvent


class OutboxBatch(Protocol):
    """Pending records claimed by one relay; see ``Outbox.claim``."""

    records: Sequence[OutboxRecord]

    async def mark_sent(self, records: Sequence[OutboxRecord]) -> None:
        """Marks these records published: no later claim returns them.  May raise Unavailable."""


class Outbox(Protocol):
    """The events units of work committed (written in the same transaction as the change that raised
    them), read by the relay that publishes them.

    - ``claim(limit)`` enters a batch of at most ``limit`` unsent records, oldest position first.  While
      the batch is open no other claim returns any record (one relay publishes at a time, so the order
      of commits is the order of publishing); a concurrent claim returns an empty batch at once rather
      than waiting.  Records not marked sent when the batch exits, normally or by an exception or a
      cancellation (a relay killed mid-batch), stay pending and come again in the same order.
    - ``purge_sent(before)`` forgets records marked sent before that time; returns how many.
    Any method may raise Unavailable.
    """

    def claim(self, limit: int) -> AbstractAsyncContextManager[OutboxBatch]: ...
    async def purge_sent(self, before: dt.datetime) -> int: ...
