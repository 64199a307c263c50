"""The signal bus on Redis: plain pub/sub, one channel per room (plus one for revocation notices),
one subscriber connection per bus instance that re-subscribes every listened channel after a
reconnect (at-most-once).  Events are typed in the domain; their JSON lives in room_codec."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from adapters.redis.errors import translate_errors
from adapters.redis.room_codec import event_from_json, event_to_json
from domain.rooms.events import AccessRevoked, RoomEvent
from domain.shared.errors import Unavailable
from domain.shared.ids import MeetingId
from ports.rooms import RevocationHandler, RoomHandler

log = logging.getLogger(__name__)
# The channel of AccessRevoked notices, kept among the rooms (no room id is "*": ids are UUIDs).
_REVOCATIONS = MeetingId("*")


class _Room:
    def __init__(self) -> None:
        self.handlers: list[Any] = []
        self.ready = asyncio.Event()  # the server confirmed our SUBSCRIBE: nothing published is missed


class RedisSignalBus:
    """SignalBus on Redis pub/sub.  One subscriber connection per instance, read by a background task
    that starts on the first ``listen``; channels are subscribed while some listener of the room is
    open.  If the connection drops, the reader reconnects (backoff up to ``max_backoff`` seconds) and
    subscribes every room still listened to; what was published meanwhile is lost (at-most-once).
    Handlers run one after another in the reader, so each sees its room's messages in order; hence a
    handler must be quick and must not open a ``listen`` itself (it would wait on its own reader):
    hand such work to a task."""

    def __init__(self, redis: Redis, prefix: str = "confero:", *, ready_timeout: float = 2.0,
                 max_backoff: float = 2.0) -> None:
        self._redis = redis
        self._prefix = f"{prefix}room:"
        self._ready_timeout = ready_timeout
        self._max_backoff = max_backoff
        self._rooms: dict[MeetingId, _Room] = {}
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        # Serialises (un)subscribing with the reader swapping connections, so no room is missed.
        self._lock = asyncio.Lock()
        # SUBSCRIBEs sent but not yet confirmed, per channel: only the confirmation of the latest one
        # proves the channel is live (an earlier one may be followed by a pending UNSUBSCRIBE).
        self._unconfirmed: dict[str, int] = {}

    def _channel(self, room_id: str) -> str:
        return f"{self._prefix}{room_id}"

    @translate_errors
    async def publish(self, event: RoomEvent) -> None:
        await self._redis.publish(self._channel(event.room_id), event_to_json(event))

    @translate_errors
    async def broadcast(self, notice: AccessRevoked) -> None:
        await self._redis.publish(self._channel(_REVOCATIONS), event_to_json(notice))

    def listen_revocations(self, handler: RevocationHandler) -> contextlib.AbstractAsyncContextManager[None]:
        return self.listen(_REVOCATIONS, handler)  # type: ignore[arg-type]

    @contextlib.asynccontextmanager
    async def listen(self, room_id: MeetingId, handler: RoomHandler) -> AsyncIterator[None]:
        room = self._rooms.get(room_id)
        first = room is None
        if room is None:
            room = self._rooms[room_id] = _Room()
        room.handlers.append(handler)
        try:
            if first:
                await self._subscribe(room_id)
            try:
                await asyncio.wait_for(room.ready.wait(), self._ready_timeout)
            except TimeoutError:
                raise Unavailable("redis did not confirm the room subscription") from None
            yield
        finally:
            room.handlers.remove(handler)
            if not room.handlers and self._rooms.get(room_id) is room:
                del self._rooms[room_id]
                await self._unsubscribe(room_id)

    async def aclose(self) -> None:
        """Stops the reader and releases its connection; a later ``listen`` starts a new one."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None

    async def _subscribe(self, room_id: MeetingId) -> None:
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read_forever(), name="redis-signal-bus")
        async with self._lock:
            # Without a connection the reader subscribes every listened room when it (re)connects.
            if self._pubsub is None or room_id not in self._rooms:
                return
            await self._send(self._pubsub, self._channel(room_id), subscribe=True)

    async def _unsubscribe(self, room_id: MeetingId) -> None:
        async with self._lock:
            if self._pubsub is None or room_id in self._rooms:  # listened to again meanwhile
                return
            await self._send(self._pubsub, self._channel(room_id), subscribe=False)

    async def _send(self, pubsub: PubSub, channel: str, *, subscribe: bool) -> None:
        if subscribe:
            self._unconfirmed[channel] = self._unconfirmed.get(channel, 0) + 1
        try:
            await (pubsub.subscribe(channel) if subscribe else pubsub.unsubscribe(channel))
        except (RedisError, OSError) as exc:
            # The connection is failing: the reader notices too, and its reconnect subscribes
            # exactly the rooms listened to by then.
            log.warning("redis pub/sub (un)subscribe failed: %r", exc)
            if subscribe:
                self._unconfirmed[channel] = self._unconfirmed.get(channel, 1) - 1

    async def _read_forever(self) -> None:
        backoff = 0.05
        while True:
            pubsub = None
            try:
                pubsub = await self._connect()
                backoff = 0.05
                while True:
                    reply = await pubsub.get_message(timeout=None)
                    if reply is not None:
                        await self._on_reply(reply)
            except (RedisError, OSError) as exc:
                log.warning("redis pub/sub connection lost, reconnecting in %.2fs: %r", backoff, exc)
            except Exception:
                # A bug must not end delivery for good: log it and start over like after an outage.
                log.exception("redis signal bus reader failed, restarting in %.2fs", backoff)
            finally:
                if pubsub is not None:
                    await self._disconnect(pubsub)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self._max_backoff)

    async def _connect(self) -> PubSub:
        async with self._lock:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.connect()
                channels = [self._channel(r) for r in self._rooms]
                self._unconfirmed = dict.fromkeys(channels, 1)
                if channels:
                    await pubsub.subscribe(*channels)
            except BaseException:
                await pubsub.aclose()
                raise
            self._pubsub = pubsub
            return pubsub

    async def _disconnect(self, pubsub: PubSub) -> None:
        async with self._lock:
            self._pubsub = None
            self._unconfirmed = {}
            for room in self._rooms.values():
                room.ready.clear()
        with contextlib.suppress(RedisError, OSError):
            await pubsub.aclose()

    async def _on_reply(self, reply: dict[str, Any]) -> None:
        channel = reply.get("channel")
        if isinstance(channel, bytes):  # a client made without decode_responses
            channel = channel.decode()
        if not isinstance(channel, str):  # e.g. a PONG
            return
        room = self._rooms.get(MeetingId(channel.removeprefix(self._prefix)))
        if reply["type"] == "subscribe":
            left = self._unconfirmed.get(channel, 0) - 1
            if left > 0:
                self._unconfirmed[channel] = left
                return
            self._unconfirmed.pop(channel, None)  # no entry per room ever listened to
            if room is not None:
                room.ready.set()
        elif reply["type"] == "message" and room is not None:
            try:
                event = event_from_json(reply["data"])
            except (ValueError, KeyError, TypeError):
                log.exception("undecodable room event on %s", channel)
                return
            for handler in list(room.handlers):
                try:
                    await handler(event)
                except Exception:
                    log.exception("room handler failed", extra={"channel": channel})
