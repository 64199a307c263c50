"""Domain events on a Redis Stream: a publisher, and a consumer-group subscriber (at-least-once,
idempotent by event id, with a dead-letter stream ``<stream>:dead`` for events that keep failing)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from attrs import frozen
from opentelemetry import propagate, trace
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from adapters.metrics import spans
from adapters.metrics.instruments import DEAD_LETTERED, EVENT_CONSUME_LAG, EVENTS_CONSUMED
from adapters.redis.errors import redis_unavailable, translate_errors
from domain.shared.errors import Unavailable
from domain.shared.events import DomainEvent, UnknownEvent, event_from_record

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)


@frozen(kw_only=True)
class PublishedEvent:
    """A domain event as another process receives it: its class is not needed to read it."""

    name: str
    event_id: str
    occurred_at: dt.datetime
    payload: dict[str, Any]

    @classmethod
    def from_domain(cls, event: DomainEvent) -> PublishedEvent:
        # payload() is JSON-safe already (tuples become lists), so this equals what crosses the wire.
        return cls(name=event.name, event_id=event.event_id, occurred_at=event.occurred_at, payload=event.payload())

    def to_fields(self) -> dict[str, str]:
        return _fields(self.name, self.event_id, self.occurred_at, self.payload)

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> PublishedEvent:
        return cls(name=fields["name"], event_id=fields["event_id"],
                   occurred_at=dt.datetime.fromisoformat(fields["occurred_at"]),
                   payload=json.loads(fields["payload"]))

    def to_domain(self) -> DomainEvent:
        """Raises UnknownEvent when no event class has this name or the payload does not fit it."""
        return event_from_record(self.name, self.event_id, self.occurred_at, self.payload)


def _fields(name: str, event_id: str, occurred_at: dt.datetime, payload: dict[str, Any]) -> dict[str, str]:
    """A stream entry: the payload serialised once, on the relay's hot path."""
    fields = {"name": name, "event_id": event_id, "occurred_at": occurred_at.isoformat(),
              "payload": json.dumps(payload, separators=(",", ":"))}
    propagate.inject(fields)  # the publisher's trace context (traceparent), when tracing is on
    return fields


Handler = Callable[[DomainEvent], Awaitable[None]]
# A replayed dead letter is meant for the group that failed it only; the others skip it.
FOR_GROUP = "for_group"


def dead_letter_stream(stream: str) -> str:
    return f"{stream}:dead"


def processed_key(stream: str, group: str, event_id: str) -> str:
    return f"{stream}:processed:{group}:{event_id}"


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
                pipe.xadd(self.stream, _fields(event.name, event.event_id, event.occurred_at, event.payload()),
                          maxlen=self._maxlen, approximate=True)
            await pipe.execute()


class RedisStreamSubscriber:
    """Reads a stream as ``consumer`` of ``group`` and acknowledges an entry only after ``handler``
    returned.  The handler receives the typed DomainEvent (``event_from_record``).

    - Idempotent by event id: a handled event's id is kept for ``processed_ttl`` (key
      ``<stream>:processed:<group>:<event_id>``), and an entry whose id is there is acknowledged
      without calling the handler (the relay may publish a record twice).
    - A failing handler stops the batch, so the entry (and those after it) come again in order on the
      next poll; after ``max_attempts`` failures of one entry (counted by this consumer) it is copied to
      the dead-letter stream ``<stream>:dead`` with the error, acknowledged, and the next ones go on.
      An entry that does not decode into an event is dead-lettered at once (retrying cannot help).
    - Entries left pending by a consumer idle for ``claim_idle`` (it crashed) are claimed with
      XAUTOCLAIM and handled here.

    ``block`` must stay below the client's socket timeout, or an idle stream reads as an outage."""

    def __init__(self, redis: Redis, stream: str, group: str, consumer: str, *, batch: int = 100,
                 block: dt.timedelta = dt.timedelta(milliseconds=500),
                 claim_idle: dt.timedelta = dt.timedelta(seconds=30), start: str = "0",
                 max_attempts: int = 5, processed_ttl: dt.timedelta = dt.timedelta(days=1),
                 retry_delay: float = 1.0) -> None:
        self._redis = redis
        self.stream, self.group, self.consumer = stream, group, consumer
        self.dead_stream = dead_letter_stream(stream)
        self._batch = batch
        self._block_ms = int(block.total_seconds() * 1000)
        self._claim_idle_ms = int(claim_idle.total_seconds() * 1000)
        self._group_ready = False
        self._start = start  # where a new group begins: "0" = the whole stream, "$" = from now on
        self._max_attempts = max_attempts
        self._processed_ttl = int(processed_ttl.total_seconds())
        self._failures: dict[str, int] = {}  # entry id -> failed attempts (this consumer's count)
        self._retry_delay = retry_delay
        self._recheck_own = True
        self._next_claim = 0.0

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
            # Own pending entries exist only after a failure (or a restart); abandoned ones only
            # after claim_idle: looking for them on every poll would triple the calls per event.
            if self._recheck_own:
                handled += await self._handle(await self._own_pending(), handler)
                self._recheck_own = False
            if time.monotonic() >= self._next_claim:
                handled += await self._handle(await self._claim_abandoned(), handler)
                self._next_claim = time.monotonic() + self._claim_idle_ms / 2000
            handled += await self._handle(await self._read_new(block), handler)
            return handled
        except Unavailable as exc:
            self._recheck_own = True
            if "NOGROUP" in str(exc.__cause__):
                # The server lost the group (restart without persistence): recreate it next time.
                self._group_ready = False
            raise
        except BaseException:
            self._recheck_own = True
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
                log.warning("event handler failed; the event will be delivered again", exc_info=True)
                await asyncio.sleep(self._retry_delay)

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
        if not entries:
            return 0
        with redis_unavailable():
            seen = await self._redis.mget([processed_key(self.stream, self.group, f.get("event_id", ""))
                                           for _, f in entries])
        acks: list[str] = []
        handled: list[str] = []  # event ids
        try:
            for (entry_id, fields), done in zip(entries, seen, strict=True):
                target = fields.get(FOR_GROUP)
                if done is not None or fields.get("event_id") in handled or (
                        target is not None and target != self.group):
                    acks.append(entry_id)
                    continue
                try:
                    event = PublishedEvent.from_fields(fields).to_domain()
                except (UnknownEvent, KeyError, ValueError, TypeError) as exc:
                    log.error("undecodable event; dead-lettered", extra={"entry": entry_id, "error": str(exc)})
                    await self._dead_letter(entry_id, fields, exc, attempts=1)
                    continue
                try:
                    with spans.span(tracer, f"consume {event.name}", context=propagate.extract(fields),
                                    kind=trace.SpanKind.CONSUMER):
                        await handler(event)
                    EVENTS_CONSUMED.labels("handled").inc()
                    EVENT_CONSUME_LAG.observe(max(0.0, (dt.datetime.now(dt.timezone.utc)
                                                        - event.occurred_at).total_seconds()))
                except Exception as exc:
                    EVENTS_CONSUMED.labels("failed").inc()
                    failures = self._failures.get(entry_id, 0) + 1
                    if failures < self._max_attempts:
                        self._failures[entry_id] = failures
                        raise
                    log.exception("event handler failed %d times; dead-lettered", failures,
                                  extra={"event": event.name, "event_id": event.event_id})
                    await self._dead_letter(entry_id, fields, exc, attempts=failures)
                    continue
                acks.append(entry_id)
                handled.append(event.event_id)
        finally:
            # One round trip for the batch (or the part handled before a failure), not one per event.
            if acks:
                await self._ack(acks, handled)
        return len(entries)

    async def _ack(self, entry_ids: list[str], event_ids: list[str]) -> None:
        with redis_unavailable():
            async with self._redis.pipeline(transaction=False) as pipe:
                for event_id in event_ids:
                    pipe.set(processed_key(self.stream, self.group, event_id), "1", ex=self._processed_ttl)
                pipe.xack(self.stream, self.group, *entry_ids)
                await pipe.execute()
        for entry_id in entry_ids:
            self._failures.pop(entry_id, None)

    async def _dead_letter(self, entry_id: str, fields: dict[str, str], error: BaseException, attempts: int) -> None:
        letter = {k: v for k, v in fields.items() if k != FOR_GROUP}
        letter.update(group=self.group, consumer=self.consumer, error=f"{type(error).__name__}: {error}"[:1000],
                      attempts=str(attempts), failed_at=dt.datetime.now(dt.timezone.utc).isoformat(),
                      entry=entry_id)
        with redis_unavailable():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.xadd(self.dead_stream, letter)
                pipe.xack(self.stream, self.group, entry_id)
                await pipe.execute()
        DEAD_LETTERED.inc()
        self._failures.pop(entry_id, None)


def _entries(reply: Any) -> list[tuple[str, dict[str, str]]]:
    # redis-py answers XREADGROUP with [[stream, [(id, fields), ...]]] (RESP2) or a dict (RESP3).
    if not reply:
        return []
    streams = reply.values() if isinstance(reply, dict) else (entries for _, entries in reply)
    return [(eid, fields) for entries in streams for eid, fields in entries if fields]

