"""The outbox relay: publishes committed events in commit order, at least once, and marks them sent."""

from __future__ import annotations

import datetime as dt

from attrs import define

from ports.events import EventPublisher
from ports.outbox import Outbox


@define(kw_only=True)
class OutboxRelay:
    """A record is marked sent only after the publisher took it, so a failure or a kill between the
    two publishes it again (consumers deduplicate by event id); a batch either goes out whole, in
    order, or stays pending, so nothing after a failed record overtakes it."""

    outbox: Outbox
    publisher: EventPublisher
    batch_size: int = 100
    keep_sent: dt.timedelta = dt.timedelta(hours=1)

    async def relay_batch(self) -> int:
        """Publishes one batch; returns how many records it sent (0: nothing pending or another relay
        is busy).  Raises Unavailable when the outbox or the publisher fails (nothing is marked)."""
        async with self.outbox.claim(self.batch_size) as batch:
            records = list(batch.records)
            if not records:
                return 0
            await self.publisher.publish(*(r.event for r in records))
            await batch.mark_sent(records)
            return len(records)

    async def drain(self) -> int:
        """Publishes batches until none is pending; returns how many records were sent."""
        sent = 0
        while n := await self.relay_batch():
            sent += n
        return sent

    async def purge(self, now: dt.datetime) -> int:
        return await self.outbox.purge_sent(now - self.keep_sent)
