from __future__ import annotations

import datetime as dt


class SystemClock:
    def now(self) -> dt.datetime:
        # Microsecond precision is what PostgreSQL keeps, so round-trips compare equal.
        return dt.datetime.now(dt.timezone.utc)


class FrozenClock:
    """A clock that moves only when told to (tests, simulations)."""

    def __init__(self, start: dt.datetime) -> None:
        self._now = start

    def now(self) -> dt.datetime:
        return self._now

    def advance(self, delta: dt.timedelta) -> None:
        self._now += delta
