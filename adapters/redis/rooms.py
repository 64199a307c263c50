"""Room presence and the signal bus on Redis.

Presence: a hash per room (user_id -> member JSON, connection id included) and ONE sorted set of
deadlines for all rooms (member ``room_id|user_id``, score = deadline in µs, exact in a double), so a
reaper finds expired members of every room with one range query.  Each change that touches both is a
Lua script, which Redis runs atomically: that is what makes a racing remove or reap hand a member to
exactly one caller, across processes.  The reap script names room hashes it derives from the sorted
set, so this layout needs a single Redis (not Cluster).

Bus: plain pub/sub, one channel per room, one subscriber connection per bus instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from adapters.redis.errors import translate_errors
from adapters.redis.timeconv import to_us
from domain.rooms.model import MediaState, Member, RoomMessage
from domain.shared.errors import Unavailable
from domain.shared.ids import MeetingId, UserId
from ports.rooms import RoomHandler

log = logging.getLogger(__name__)


# -- codecs --------------------------------------------------------------------------------------

def member_to_json(m: Member) -> str:
    if m.joined_at.utcoffset() is None:
        raise ValueError("joined_at must be timezone-aware")
    return json.dumps({
        "user_id": m.user_id, "connection_id": m.connection_id, "display_name": m.display_name, "role": m.role,
        "media": {"audio": m.media.audio, "video": m.media.video, "screen": m.media.screen},
        "joined_at": m.joined_at.astimezone(dt.timezone.utc).isoformat(timespec="microseconds"),
    }, separators=(",", ":"), ensure_ascii=False)


def member_from_json(text: str) -> Member:
    d = json.loads(text)
    return Member(user_id=UserId(d["user_id"]), connection_id=d["connection_id"], display_name=d["display_name"],
                  role=d["role"], media=MediaState(**d["media"]),
                  joined_at=dt.datetime.fromisoformat(d["joined_at"]))


def message_to_json(m: RoomMessage) -> str:
    # ``data`` must be JSON-native (str keys, lists not tuples) to come back equal.
    return json.dumps({"room_id": m.room_id, "kind": m.kind, "data": m.data, "to": m.to,
                       "connection_id": m.connection_id, "exclude": m.exclude, "close": m.close},
                      separators=(",", ":"), ensure_ascii=False)


def message_from_json(text: str) -> RoomMessage:
    d = json.loads(text)
    return RoomMessage(room_id=MeetingId(d["room_id"]), kind=d["kind"], data=d["data"],
                       to=None if d["to"] is None else UserId(d["to"]), connection_id=d["connection_id"],
                       exclude=None if d["exclude"] is None else UserId(d["exclude"]), close=d["close"])


# -- presence ------------------------------------------------------------------------------------

# KEYS: room hash, deadlines.  ARGV: user_id, member JSON, deadline µs, "room|user".
_ENTER = """
local prev = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
return prev
"""

# ARGV: user_id, connection_id, deadline µs, "room|user".
_RENEW = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur or cjson.decode(cur)['connection_id'] ~= ARGV[2] then return 0 end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
return 1
"""

# KEYS: room hash.  ARGV: user_id, connection_id, media JSON.  The member is edited in Lua so no other
# change can slip in between reading and writing it.
_SET_MEDIA = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return false end
local m = cjson.decode(cur)
if m['connection_id'] ~= ARGV[2] then return false end
m['media'] = cjson.decode(ARGV[3])
local out = cjson.encode(m)
redis.call('HSET', KEYS[1], ARGV[1], out)
return out
"""

# ARGV: user_id, "1" to check the connection, connection_id, "room|user".
_REMOVE = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return false end
if ARGV[2] == '1' and cjson.decode(cur)['connection_id'] ~= ARGV[3] then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[4])
return cur
"""

# ARGV: now µs, "room|".  Read-only, but one script so hash and deadlines are read at one instant.
_MEMBERS = """
local rows = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #rows, 2 do
  local score = redis.call('ZSCORE', KEYS[2], ARGV[2] .. rows[i])
  if score and tonumber(score) > tonumber(ARGV[1]) then table.insert(out, rows[i + 1]) end
end
return out
"""

# KEYS: deadlines.  ARGV: now µs, limit, key prefix.  Returns room, member JSON, room, member JSON, ...
_REAP = """
local due = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, ARGV[2])
local out = {}
for _, entry in ipairs(due) do
  redis.call('ZREM', KEYS[1], entry)
  local sep = string.find(entry, '|', 1, true)
  local room, user = string.sub(entry, 1, sep - 1), string.sub(entry, sep + 1)
  local key = ARGV[3] .. 'room:' .. room .. ':members'
  local member = redis.call('HGET', key, user)
  if member then
    redis.call('HDEL', key, user)
    table.insert(out, room)
    table.insert(out, member)
  end
end
return out
"""

# ARGV: "room|".
_CLEAR = """
local rows = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #rows, 2 do
  redis.call('ZREM', KEYS[2], ARGV[1] .. rows[i])
  table.insert(out, rows[i + 1])
end
redis.call('DEL', KEYS[1])
return out
"""


class RedisRoomPresence:
    """RoomPresence shared by every process that uses the same Redis and prefix."""

    def __init__(self, redis: Redis, prefix: str = "confero:") -> None:
        self._prefix = prefix
        self._deadlines = f"{prefix}room-deadlines"
        self._enter = redis.register_script(_ENTER)
        self._renew = redis.register_script(_RENEW)
        self._set_media = redis.register_script(_SET_MEDIA)
        self._remove = redis.register_script(_REMOVE)
        self._members = redis.register_script(_MEMBERS)
        self._reap = redis.register_script(_REAP)
        self._clear = redis.register_script(_CLEAR)

    def _keys(self, room_id: str) -> list[str]:
        # The reap script builds this same name from the prefix: keep the two in step.
        return [f"{self._prefix}room:{room_id}:members", self._deadlines]

    @translate_errors
    async def enter(self, room_id: MeetingId, member: Member, deadline: dt.datetime) -> Member | None:
        prev = await self._enter(keys=self._keys(room_id), args=[
            member.user_id, member_to_json(member), to_us(deadline), f"{room_id}|{member.user_id}"])
        return None if prev is None else member_from_json(prev)

    @translate_errors
    async def renew(self, room_id: MeetingId, user_id: UserId, connection_id: str, deadline: dt.datetime) -> bool:
        return bool(await self._renew(keys=self._keys(room_id), args=[
            user_id, connection_id, to_us(deadline), f"{room_id}|{user_id}"]))

    @translate_errors
    async def set_media(self, room_id: MeetingId, user_id: UserId, connection_id: str,
                        media: MediaState) -> Member | None:
        media_json = json.dumps({"audio": media.audio, "video": media.video, "screen": media.screen})
        out = await self._set_media(keys=self._keys(room_id)[:1], args=[user_id, connection_id, media_json])
        return None if out is None else member_from_json(out)

    @translate_errors
    async def remove(self, room_id: MeetingId, user_id: UserId, connection_id: str | None = None) -> Member | None:
        out = await self._remove(keys=self._keys(room_id), args=[
            user_id, "0" if connection_id is None else "1", connection_id or "", f"{room_id}|{user_id}"])
        return None if out is None else member_from_json(out)

    @translate_errors
    async def members(self, room_id: MeetingId, now: dt.datetime) -> list[Member]:
        rows = await self._members(keys=self._keys(room_id), args=[to_us(now), f"{room_id}|"])
        return sorted(map(member_from_json, rows), key=lambda m: (m.joined_at, m.user_id))

    @translate_errors
    async def reap(self, now: dt.datetime, limit: int = 100) -> list[tuple[MeetingId, Member]]:
        if limit <= 0:
            return []
        flat = await self._reap(keys=[self._deadlines], args=[to_us(now), limit, self._prefix])
        return [(MeetingId(flat[i]), member_from_json(flat[i + 1])) for i in range(0, len(flat), 2)]

    @translate_errors
    async def clear(self, room_id: MeetingId) -> list[Member]:
        rows = await self._clear(keys=self._keys(room_id), args=[f"{room_id}|"])
        return [member_from_json(r) for r in rows]


# -- bus -----------------------------------------------------------------------------------------

class _Room:
    def __init__(self) -> None:
        self.handlers: list[RoomHandler] = []
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
    async def publish(self, message: RoomMessage) -> None:
        await self._redis.publish(self._channel(message.room_id), message_to_json(message))

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
                message = message_from_json(reply["data"])
            except (ValueError, KeyError, TypeError):
                log.exception("undecodable room message on %s", channel)
                return
            for handler in list(room.handlers):
                try:
                    await handler(message)
                except Exception:
                    log.exception("room handler failed", extra={"room_id": message.room_id})
