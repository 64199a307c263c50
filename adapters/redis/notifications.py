"""The delivery idempotency log, the per-recipient rate limit and the live in-app feed on Redis."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from collections.abc import AsyncIterator

from redis.asyncio import Redis

from adapters.redis.errors import translate_errors
from domain.notifications.model import Channel, Kind, Notification
from domain.shared.ids import UserId
from ports.notifications import LiveHandler

log = logging.getLogger(__name__)
SENT = "sent"
CLAIMED = "claimed"
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# Counts one only while under the limit, so a refused attempt does not push the window further.
ACQUIRE = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then return redis.call('PTTL', KEYS[1]) end
redis.call('INCR', KEYS[1])
if n == 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return -1
"""


class RedisSentLog:
    """One key per job key: ``claimed`` (with the claim's TTL) or ``sent`` (kept ``keep``)."""

    def __init__(self, redis: Redis, *, prefix: str = "confero:", keep: dt.timedelta = dt.timedelta(days=7)) -> None:
        self._redis = redis
        self._prefix = f"{prefix}notify:sent:"
        self._keep = int(keep.total_seconds())
        self._release = redis.register_script(RELEASE)

    @translate_errors
    async def claim(self, key: str, ttl: dt.timedelta) -> bool:
        return bool(await self._redis.set(self._prefix + key, CLAIMED, nx=True,
                                          px=max(1, int(ttl.total_seconds() * 1000))))

    @translate_errors
    async def release(self, key: str) -> None:
        await self._release(keys=[self._prefix + key], args=[CLAIMED])

    @translate_errors
    async def mark_sent(self, key: str) -> None:
        await self._redis.set(self._prefix + key, SENT, ex=self._keep)

    @translate_errors
    async def sent(self, key: str) -> bool:
        return await self._redis.get(self._prefix + key) == SENT


class RedisDeliveryLimiter:
    def __init__(self, redis: Redis, limit: int, window: dt.timedelta, *, prefix: str = "confero:") -> None:
        self._redis = redis
        self._limit = limit
        self._window_ms = max(1, int(window.total_seconds() * 1000))
        self._prefix = f"{prefix}notify:rate:"
        self._acquire = redis.register_script(ACQUIRE)

    @translate_errors
    async def acquire(self, recipient: str, channel: Channel, now: dt.datetime) -> dt.timedelta | None:
        left = int(await self._acquire(keys=[f"{self._prefix}{channel.value}:{recipient}"],
                                       args=[self._limit, self._window_ms]))
        if left == -1:
            return None
        return dt.timedelta(milliseconds=max(left, 1))


def notification_to_json(n: Notification) -> str:
    return json.dumps({"id": n.id, "user_id": n.user_id, "kind": n.kind.value, "title": n.title, "body": n.body,
                       "link": n.link, "data": n.data, "created_at": n.created_at.isoformat(),
                       "read_at": n.read_at.isoformat() if n.read_at else None}, separators=(",", ":"))


def notification_from_json(text: str) -> Notification:
    d = json.loads(text)
    return Notification(id=d["id"], user_id=UserId(d["user_id"]), kind=Kind(d["kind"]), title=d["title"],
                        body=d["body"], link=d["link"], data=d["data"],
                        created_at=dt.datetime.fromisoformat(d["created_at"]),
                        read_at=dt.datetime.fromisoformat(d["read_at"]) if d["read_at"] else None)


class RedisLiveNotifications:
    """Pub/sub on one channel: every listening process gets every new notification and forwards it to
    the sockets of its user that it holds.  At-most-once: while a listener is reconnecting it misses
    notifications (the client's next fetch shows them)."""

    def __init__(self, redis: Redis, *, prefix: str = "confero:") -> None:
        self._redis = redis
        self.channel = f"{prefix}notify:live"

    @translate_errors
    async def publish(self, notification: Notification) -> None:
        await self._redis.publish(self.channel, notification_to_json(notification))

    @contextlib.asynccontextmanager
    async def listen(self, handler: LiveHandler) -> AsyncIterator[None]:
        ready = asyncio.Event()
        task = asyncio.create_task(self._read(handler, ready), name="live-notifications")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ready.wait(), 2.0)
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _read(self, handler: LiveHandler, ready: asyncio.Event) -> None:
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                ready.set()
                while True:
                    msg = await pubsub.get_message(timeout=0.5)
                    if msg is None or msg.get("type") != "message":
                        continue
                    try:
                        await handler(notification_from_json(msg["data"]))
                    except Exception:
                        log.exception("live notification handler failed")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("live notifications: pub/sub lost (%r); reconnecting", exc)
                await asyncio.sleep(0.5)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
