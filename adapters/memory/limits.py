from __future__ import annotations

import bisect
import datetime as dt
import math
import uuid
from collections.abc import Sequence

from domain.shared.limits import AttemptLimit, AttemptsExhausted


class InMemoryAttemptLimiter:
    """AttemptLimiter for one process: sorted attempt times per key.

    ``reserve`` never awaits between its check and its record, so on one event loop it is atomic.
    Keys whose attempts have all left their window are swept once the table has doubled since the
    last sweep, so probing many keys (meetings, users) cannot grow it without bound.
    """

    def __init__(self) -> None:
        self._attempts: dict[str, list[tuple[dt.datetime, str]]] = {}
        self._expires: dict[str, dt.datetime] = {}
        self._swept_at_size = 64

    async def reserve(self, limits: Sequence[AttemptLimit], now: dt.datetime) -> str:
        attempt_id = uuid.uuid4().hex
        wait = dt.timedelta(0)
        for lim in limits:
            live = self._live(lim.key, now - lim.window)
            if len(live) >= lim.limit:
                oldest = live[len(live) - lim.limit][0]
                wait = max(wait, oldest + lim.window - now)
        if wait > dt.timedelta(0):
            raise AttemptsExhausted(retry_after=max(1, math.ceil(wait.total_seconds())))
        for lim in limits:
            bisect.insort(self._attempts.setdefault(lim.key, []), (now, attempt_id))
            self._expires[lim.key] = max(self._expires.get(lim.key, now), now + lim.window)
        if len(self._attempts) >= 2 * self._swept_at_size:
            self._sweep(now)
        return attempt_id

    async def release(self, keys: Sequence[str], attempt_id: str) -> None:
        for key in keys:
            entries = self._attempts.get(key)
            if entries is None:
                continue
            entries[:] = [e for e in entries if e[1] != attempt_id]
            if not entries:
                self._forget(key)

    def _live(self, key: str, horizon: dt.datetime) -> list[tuple[dt.datetime, str]]:
        entries = self._attempts.get(key, [])
        first_live = next((i for i, (at, _) in enumerate(entries) if at > horizon), len(entries))
        del entries[:first_live]
        return entries

    def _sweep(self, now: dt.datetime) -> None:
        for key in [k for k, until in self._expires.items() if until <= now]:
            self._forget(key)
        self._swept_at_size = max(64, len(self._attempts))

    def _forget(self, key: str) -> None:
        self._attempts.pop(key, None)
        self._expires.pop(key, None)
