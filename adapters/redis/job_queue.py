"""Delivery jobs on a Redis Stream with a consumer group; jobs due later in a sorted set.

Keys (``prefix`` defaults to ``confero:``): ``notify:jobs`` (the stream, group ``notifiers``),
``notify:delayed`` (due time in ms -> job JSON), ``notify:jobs:dead`` (the dead-letter stream).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from adapters.redis.errors import redis_unavailable, translate_errors
from domain.notifications.jobs import DeliveryJob
from ports.notifications import Lease

log = logging.getLogger(__name__)
GROUP = "notifiers"
PROMOTE_EVERY = 0.1  # seconds
# Moves what is due from the sorted set to the stream in one step, so two workers promoting at once
# neither lose nor double a job.
PROMOTE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, job in ipairs(due) do
  redis.call('XADD', KEYS[2], '*', 'job', job)
  redis.call('ZREM', KEYS[1], job)
end
return #due
"""


def _ms(at: dt.datetime) -> int:
    return int(at.timestamp() * 1000)


class RedisJobQueue:
    """JobQueue on Redis.  A lease is the stream entry id; a worker silent for ``lease`` seconds loses
    its entries to XAUTOCLAIM by another.  ``block`` (the longest single XREADGROUP wait) must stay
    below the client's socket timeout.  A body that is not a job is dead-lettered as it is read."""

    def __init__(self, redis: Redis, *, prefix: str = "confero:", lease: float = 120.0, block: float = 0.5,
                 maxlen: int = 1_000_000) -> None:
        self._redis = redis
        self.stream = f"{prefix}notify:jobs"
        self.delayed = f"{prefix}notify:delayed"
        self.dead_stream = f"{prefix}notify:jobs:dead"
        self._lease_ms = int(lease * 1000)
        self._block_ms = int(block * 1000)
        self._maxlen = maxlen
        self._promote = redis.register_script(PROMOTE)
        self._group_ready = False
        self._next_claim = 0.0
        self._next_promote = 0.0

    @translate_errors
    async def put(self, *jobs: DeliveryJob, at: dt.datetime | None = None) -> None:
        if not jobs:
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            for job in jobs:
                if at is None:
                    pipe.xadd(self.stream, {"job": job.to_json()}, maxlen=self._maxlen, approximate=True)
                else:
                    pipe.zadd(self.delayed, {job.to_json(): _ms(at)})
            await pipe.execute()

    async def take(self, worker: str, limit: int, wait: float) -> list[Lease]:
        deadline = time.monotonic() + wait
        with redis_unavailable():
            await self._ensure_group()
            while True:
                # Due jobs move at most every PROMOTE_EVERY: a retry or a quiet-hours job is that late at
                # worst, and a busy worker saves a round trip on most takes.
                if time.monotonic() >= self._next_promote:
                    await self._promote(keys=[self.delayed, self.stream],
                                        args=[_ms(dt.datetime.now(dt.timezone.utc)), 100])
                    self._next_promote = time.monotonic() + PROMOTE_EVERY
                entries: list[tuple[str, dict[str, str]]] = []
                if time.monotonic() >= self._next_claim:
                    reply = await self._redis.xautoclaim(self.stream, GROUP, worker, min_idle_time=self._lease_ms,
                                                         start_id="0-0", count=limit)
                    entries = [(eid, f) for eid, f in reply[1] if f]
                    self._next_claim = time.monotonic() + min(self._lease_ms / 4000, 5.0)
                left = deadline - time.monotonic()
                if not entries:
                    block = int(min(max(left, 0), self._block_ms / 1000) * 1000)
                    reply = await self._redis.xreadgroup(GROUP, worker, {self.stream: ">"}, count=limit,
                                                         block=block or None)
                    entries = _entries(reply)
                leases = await self._leases(entries)
                if leases or time.monotonic() >= deadline:
                    return leases

    async def _leases(self, entries: list[tuple[str, dict[str, str]]]) -> list[Lease]:
        out = []
        for entry_id, fields in entries:
            try:
                out.append(Lease(job=DeliveryJob.from_json(fields["job"]), token=entry_id))
            except (KeyError, ValueError, TypeError) as exc:
                log.error("undecodable delivery job; dead-lettered", extra={"entry": entry_id})
                await self._bury(entry_id, dict(fields), f"undecodable: {type(exc).__name__}: {exc}")
        return out

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            await self._redis.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    @translate_errors
    async def done(self, lease: Lease) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.stream, GROUP, lease.token)
            pipe.xdel(self.stream, lease.token)
            await pipe.execute()

    @translate_errors
    async def retry(self, lease: Lease, job: DeliveryJob, at: dt.datetime) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(self.delayed, {job.to_json(): _ms(at)})
            pipe.xack(self.stream, GROUP, lease.token)
            pipe.xdel(self.stream, lease.token)
            await pipe.execute()

    @translate_errors
    async def dead(self, lease: Lease, error: str) -> None:
        await self._bury(lease.token, {"job": lease.job.to_json()}, error)

    async def _bury(self, entry_id: str, fields: dict[str, Any], error: str) -> None:
        letter = dict(fields, error=error[:1000], entry=entry_id,
                      failed_at=dt.datetime.now(dt.timezone.utc).isoformat())
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(self.dead_stream, letter, maxlen=100_000, approximate=True)
            pipe.xack(self.stream, GROUP, entry_id)
            pipe.xdel(self.stream, entry_id)
            await pipe.execute()

    @translate_errors
    async def dead_letters(self, limit: int = 100) -> list[tuple[DeliveryJob, str]]:
        out = []
        for _, fields in await self._redis.xrange(self.dead_stream, count=limit):
            try:
                out.append((DeliveryJob.from_json(fields["job"]), fields.get("error", "")))
            except (KeyError, ValueError, TypeError):
                continue  # an undecodable body stays in the stream for a person to read
        return out

    async def pending(self) -> int:
        with redis_unavailable():
            # Settled entries are deleted, so the stream holds exactly the unsettled ones.
            return int(await self._redis.xlen(self.stream)) + int(await self._redis.zcard(self.delayed))


def _entries(reply: Any) -> list[tuple[str, dict[str, str]]]:
    if not reply:
        return []
    streams = reply.values() if isinstance(reply, dict) else (entries for _, entries in reply)
    return [(eid, fields) for entries in streams for eid, fields in entries if fields]


