"""DeadLetters over the dead-letter stream that RedisStreamSubscriber fills (``<stream>:dead``)."""

from __future__ import annotations

import datetime as dt
import json
import re

from redis.asyncio import Redis

from adapters.redis.errors import translate_errors
from adapters.redis.events import FOR_GROUP, dead_letter_stream
from domain.messaging.errors import DeadLetterNotFound
from domain.shared.pagination import Page, PageRequest
from ports.dead_letters import DeadLetter

ENTRY_ID = re.compile(r"\d{1,20}-\d{1,20}")
# Atomic, so two replays of one letter put its event back once.
_REPLAY = """
local found = redis.call('XRANGE', KEYS[2], ARGV[1], ARGV[1])
if #found == 0 then return 0 end
local f = found[1][2]
local out, group = {}, ''
for i = 1, #f, 2 do
  local k = f[i]
  if k == 'name' or k == 'event_id' or k == 'occurred_at' or k == 'payload' then
    table.insert(out, k); table.insert(out, f[i + 1])
  elseif k == 'group' then
    group = f[i + 1]
  end
end
table.insert(out, ARGV[3]); table.insert(out, group)
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', unpack(out))
redis.call('XDEL', KEYS[2], ARGV[1])
return 1
"""


def _letter(entry_id: str, f: dict[str, str]) -> DeadLetter:
    try:
        occurred_at: dt.datetime | None = dt.datetime.fromisoformat(f["occurred_at"])
    except (KeyError, ValueError):
        occurred_at = None
    try:
        payload = json.loads(f.get("payload", "{}"))
    except ValueError:
        payload = {"unreadable": f.get("payload", "")}
    return DeadLetter(id=entry_id, name=f.get("name", ""), event_id=f.get("event_id", ""), occurred_at=occurred_at,
                      payload=payload if isinstance(payload, dict) else {"value": payload},
                      consumer=f.get("group", ""), error=f.get("error", ""), attempts=int(f.get("attempts", "0")),
                      failed_at=dt.datetime.fromisoformat(f["failed_at"]))


class RedisDeadLetters:
    """Letter ids are the dead-letter stream's entry ids.  ``list`` reads ``offset + limit`` entries
    from the start (dead letters are few; an administrator pages through them)."""

    def __init__(self, redis: Redis, stream: str = "confero:events", maxlen: int = 100_000) -> None:
        self._redis = redis
        self._stream = stream
        self._dead = dead_letter_stream(stream)
        self._maxlen = maxlen
        self._replay = redis.register_script(_REPLAY)

    @translate_errors
    async def count(self) -> int:
        return int(await self._redis.xlen(self._dead))

    @translate_errors
    async def list(self, page: PageRequest) -> Page[DeadLetter]:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xlen(self._dead)
            pipe.xrange(self._dead, count=page.offset + page.limit)
            total, entries = await pipe.execute()
        items = tuple(_letter(eid, f) for eid, f in entries[page.offset:])
        return Page(items=items, total=int(total), offset=page.offset, limit=page.limit)

    @translate_errors
    async def replay(self, letter_id: str) -> None:
        if not ENTRY_ID.fullmatch(letter_id) or not await self._replay(
                keys=[self._stream, self._dead], args=[letter_id, self._maxlen, FOR_GROUP]):
            raise DeadLetterNotFound("no such dead letter", letter_id=letter_id)
