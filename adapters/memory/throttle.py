from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Sequence

from domain.shared.ids import UserId, new_id
from domain.users.throttling import Bucket, Reservation


class InMemoryLoginThrottle:
    """LoginThrottle in dicts.  ``reserve`` never awaits between deciding and counting, so it is atomic
    on the event loop, as the Redis adapter's single script is on the server."""

    def __init__(self) -> None:
        self._attempts: dict[str, list[tuple[dt.datetime, str]]] = {}
        self._clients: dict[tuple[str, str], dt.datetime] = {}

    async def reserve(self, buckets: Sequence[Bucket], now: dt.datetime) -> Reservation:
        wait = 0
        for bucket in buckets:
            hits = self._live(bucket, now)
            if len(hits) >= bucket.limit:
                oldest = hits[len(hits) - bucket.limit][0]
                wait = max(wait, math.ceil((oldest + bucket.window - now).total_seconds()))
        if wait:
            return Reservation(id="", buckets=tuple(buckets), retry_after=wait)
        reservation = Reservation(id=new_id(), buckets=tuple(buckets))
        for bucket in buckets:
            bisect.insort(self._attempts.setdefault(bucket.key, []), (now, reservation.id))
        return reservation

    async def release(self, reservation: Reservation) -> None:
        for bucket in reservation.buckets:
            hits = self._attempts.get(bucket.key, [])
            hits[:] = [hit for hit in hits if hit[1] != reservation.id]
            if not hits:
                self._attempts.pop(bucket.key, None)

    async def reset(self, key: str) -> None:
        self._attempts.pop(key, None)

    async def remember_client(self, user_id: UserId, client: str, until: dt.datetime, now: dt.datetime) -> None:
        if len(self._clients) > 4096:
            for stale in [k for k, u in self._clients.items() if u <= now]:
                del self._clients[stale]
        if until > now:
            self._clients[(user_id, client)] = until

    async def knows_client(self, user_id: UserId, client: str, now: dt.datetime) -> bool:
        until = self._clients.get((user_id, client))
        return until is not None and until > now

    def _live(self, bucket: Bucket, now: dt.datetime) -> list[tuple[dt.datetime, str]]:
        # Keys exist only while they hold attempts, so probing unknown logins cannot grow the dict.
        hits = self._attempts.get(bucket.key)
        if hits is None:
            return []
        cut = bisect.bisect_right(hits, (now - bucket.window, "\U0010ffff"))
        del hits[:cut]
        if not hits:
            del self._attempts[bucket.key]
        return hits
