from __future__ import annotations

import bisect
import collections
import datetime as dt
import math


class InMemoryLoginThrottle:
    """Sliding-window failure counter: at most ``limit`` failures per key within ``window``."""

    def __init__(self, limit: int = 5, window: dt.timedelta = dt.timedelta(minutes=15),
                 address_limit: int = 50) -> None:
        self.limit = limit
        self.address_limit = address_limit
        self.window = window
        self._failures: dict[str, collections.deque[dt.datetime]] = {}

    def _limit_for(self, key: str) -> int:
        return self.address_limit if key.startswith("addr:") else self.limit

    async def check(self, keys: list[str], now: dt.datetime) -> int:
        wait = 0
        for key in keys:
            hits = self._live(key, now)
            if len(hits) >= self._limit_for(key):
                oldest = hits[len(hits) - self._limit_for(key)]
                wait = max(wait, math.ceil((oldest + self.window - now).total_seconds()))
        return wait

    async def record_failure(self, keys: list[str], now: dt.datetime) -> None:
        for key in keys:
            self._live(key, now)
            bisect.insort(self._failures.setdefault(key, collections.deque()), now)

    async def reset(self, key: str) -> None:
        self._failures.pop(key, None)

    def _live(self, key: str, now: dt.datetime) -> collections.deque[dt.datetime]:
        # Keys are only created by record_failure and dropped once empty, so probing unknown logins
        # (credential stuffing) cannot grow this dict.
        hits = self._failures.get(key)
        if hits is None:
            return collections.deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if not hits:
            del self._failures[key]
        return hits
