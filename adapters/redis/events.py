"""Domain events on a Redis Stream: a publisher, and a consumer-group subscriber (at-least-once)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from attrs import frozen
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from adapters.redis.errors import redis_unavailable, translate_errors
from domain.shared.errors import Unavailable
from domain.shared.events import DomainEvent

log = logging.getLogger(__name__)


@frozen(kw_only=True)
class PublishedEvent:
    """A domain event as another process receives it: its class is not needed to read it."""

    name: str
    event_id: str
    occurred_at: dt.datetime
    payload: dict[str, Any]

    @classmethod
    def from_domain(cls, event: DomainEvent) -> PublishedEvent:
        # Through JSON, so an in-process copy equals what crossed the wire (tuples become lists).
        return cls(name=event.name, event_id=event.event_id, occurred_at=event.occurred_at,
                   payload=json.loads(json.dumps(event.payload())))

    def to_fields(self) -> dict[str, str]:
        return {"name": self.name, "event_id": self.event_id, "occurred_at": self.occurred_at.isoformat(),
                "payload": json.dumps(self.payload, separators=(",", ":"))}

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> PublishedEvent:
        return cls(name=fields["name"], event_id=fields["event_id"],
                   occurred_at=dt.datetime.fromisoformat(fields["occurred_at"]),
                   payload=json.loads(fields["payload"]))


Handler = Callable[[PublishedEvent], Awaitable[None]]


class RedisStreamEventPublisher:
    """EventPublisher: XADDs each event; one publish call is one MULTI so its events stay adjacent."""

    def __init__(self, redis: Redis, stream: str = "confero:events", maxlen: int = 100_000) -> None:
        self._redis = redis
        self.stream = stream
        self._maxlen = maxlen

    @translate_errors
    async def publish(self, *events: DomainEvent) -> None:
        if not events:
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            for event in events:
                pipe.xadd(self.stream, PublishedEvent.from_domain(event).to_fields(),
                          maxlen=self._maxlen, approximate=True)
            await pipe.execute()


class RedisStreamSubscriber:
    """Reads a stream as ``consumer`` of ``group`` and acknowledges an entry only after ``handler``
    returned.  A failing handler stops the batch, so the entry (and those after it) come again in
    order on the next poll; entries left pending by a consumer idle for ``claim_idle`` (it crashed)
    are claimed with XAUTOCLAIM and handled here.  Handlers must be idempotent (``event_id``).

    ``block`` must stay below the client's socket timeout, or an idle stream reads as an outage."""

    def __init__(self, redis: Redis, stream: str, group: str, consumer: str, *, batch: int = 100,
                 block: dt.timedelta = dt.timedelta(milliseconds=500),
                 claim_idle: dt.timedelta = dt.timedelta(seconds=30), start: str = "0") -> None:
        self._redis = redis
        self.stream, self.group, self.consumer = stream, group, consumer
        self._batch = batch
        self._block_ms = int(block.total_seconds() * 1000)
        self._claim_idle_ms = int(claim_idle.total_seconds() * 1000)
        self._group_ready = False
        self._start = start  # where a new group begins: "0" = the whole stream, "$" = from now on

    @translate_errors
    async def ensure_group(self) -> None:
        """Creates the group at ``start`` ("0" by default, so events published before anyone listened count)."""
        if self._group_ready:
            return
        try:
            await self._redis.xgroup_create(self.stream, self.group, id=self._start, mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    async def poll(self, handler: Handler, *, block: bool = False) -> int:
        """Handles what is due: own pending entries, then abandoned ones, then new ones.  Returns how
        many were handled; a handler's exception propagates after nothing further is acknowledged."""
        await self.ensure_group()
        try:
            handled = 0
            for entries in (await self._own_pending(), await self._claim_abandoned()):
                handled += await self._handle(entries, handler)
            handled += await self._handle(await self._read_new(block), handler)
            return handled
        except Unavailable as exc:
            if "NOGROUP" in str(exc.__cause__):
                # The server lost the group (restart without persistence): recreate it next time.
                self._group_ready = False
            raise

    async def run(self, handler: Handler, stop: asyncio.Event) -> None:
        """Polls until ``stop`` is set; a failing handler or an outage is logged and retried."""
        while not stop.is_set():
            try:
                await self.poll(handler, block=True)
            except Unavailable:
                log.warning("event stream unavailable; retrying", extra={"stream": self.stream})
                await asyncio.sleep(1)
            except Exception:
                log.exception("event handler failed; the event will be delivered again")
                await asyncio.sleep(1)

    @translate_errors
    async def _own_pending(self) -> list[tuple[str, dict[str, str]]]:
        reply = await self._redis.xreadgroup(self.group, self.consumer, {self.stream: "0"}, count=self._batch)
        return _entries(reply)

    @translate_errors
    async def _claim_abandoned(self) -> list[tuple[str, dict[str, str]]]:
        reply = await self._redis.xautoclaim(self.stream, self.group, self.consumer,
                                             min_idle_time=self._claim_idle_ms, start_id="0-0", count=self._batch)
        # reply = [next_start_id, [(id, fields), ...], deleted_ids]; trimmed entries come back as None.
        return [(eid, fields) for eid, fields in reply[1] if fields]

    @translate_errors
    async def _read_new(self, block: bool) -> list[tuple[str, dict[str, str]]]:
        reply = await self._redis.xreadgroup(self.group, self.consumer, {self.stream: ">"}, count=self._batch,
                                             block=self._block_ms if block else None)
        return _entries(reply)

    async def _handle(self, entries: list[tuple[str, dict[str, str]]], handler: Handler) -> int:
        for entry_id, fields in entries:
            await handler(PublishedEvent.from_fields(fields))
            with redis_unavailable():
                await self._redis.xack(self.stream, self.group, entry_id)
        return len(entries)


def _entries(reply: Any) -> list[tuple[str, dict[str, str]]]:
    # redis-py answers XREADGROUP with [[stream, [(id, fields), ...]]] (RESP2) or a dict (RESP3).
    if not reply:
        return []
    streams = reply.values() if isinstance(reply, dict) else (entries for _, entries in reply)
    return [(eid, fields) for entries in streams for eid, fields in entries if fields]

