from __future__ import annotations

import asyncio
import contextlib


class CommitSignal:
    """Wakes the outbox relay of this process when a unit of work commits, so an event leaves at once
    instead of at the next poll.  Setting it while nobody waits is remembered until the next wait."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()

    async def wait(self, timeout: float) -> bool:
        """True when notified (now or since the last wait), False after ``timeout`` seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout)
        notified = self._event.is_set()
        self._event.clear()
        return notified
