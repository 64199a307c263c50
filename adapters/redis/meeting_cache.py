"""Cache-aside in front of a MeetingRepository.  The cache is an optimisation, never a dependency:
when Redis fails, requests go to the inner repository and the cache is skipped for a moment."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.asyncio import Redis

from adapters.redis.errors import redis_unavailable
from adapters.redis.meeting_codec import meeting_from_dict, meeting_to_dict
from domain.meetings.commands import Relation, When
from domain.meetings.model import Meeting
from domain.shared.errors import Unavailable
from domain.shared.ids import MeetingId, UserId
from domain.shared.pagination import Page, PageRequest
from ports.meetings import MeetingRepository

log = logging.getLogger(__name__)
T = TypeVar("T")

# Entries are "<version>:<json>"; "<version>:" is a tombstone left by save/delete.  A reader that
# loaded an older version before a save finished may only write it back when no newer version (or
# tombstone) is there, so a stale copy can never land in the cache after the save returned.
_PUT = """
local cur = redis.call('GET', KEYS[1])
if cur then
  local sep = string.find(cur, ':', 1, true)
  local have = tonumber(string.sub(cur, 1, sep - 1))
  local want = tonumber(ARGV[1])
  local fills_tombstone = want == have and sep == #cur and ARGV[2] ~= ''
  if want < have or (want == have and not fills_tombstone) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ARGV[2], 'EX', ARGV[3])
return 1
"""
DELETED = 2**52  # a tombstone version above any real one
MAX_UNSENT = 10_000


class CachedMeetingRepository:
    def __init__(self, inner: MeetingRepository, redis: Redis, ttl_seconds: int = 300,
                 prefix: str = "confero:", pause_after_failure: float = 5.0) -> None:
        self.inner = inner
        self.hits = 0
        self.misses = 0
        self._redis = redis
        self._ttl = ttl_seconds
        self._prefix = prefix
        self._pause = pause_after_failure
        self._paused_until = 0.0
        # Invalidations Redis did not take (it was down): replayed before the cache is read again,
        # so a blip cannot leave a stale copy behind.  Tombstone versions make replays harmless.
        self._unsent: dict[str, int] = {}
        self._put = redis.register_script(_PUT)

    def _key(self, meeting_id: str) -> str:
        return f"{self._prefix}meeting:{meeting_id}"

    async def get(self, meeting_id: MeetingId) -> Meeting:
        usable = await self._replay_invalidations()
        cached = await self._cache(lambda: self._redis.get(self._key(meeting_id))) if usable else None
        meeting = _decode(cached) if cached else None
        if meeting is not None:
            self.hits += 1
            return meeting
        self.misses += 1
        meeting = await self.inner.get(meeting_id)
        if usable:
            await self._store(meeting.id, meeting.version, json.dumps(meeting_to_dict(meeting)))
        return meeting

    async def add(self, meeting: Meeting) -> None:
        await self.inner.add(meeting)
        # Clears a tombstone left by deleting an earlier meeting with this id.
        await self._cache(lambda: self._redis.delete(self._key(meeting.id)))

    async def save(self, meeting: Meeting) -> None:
        await self.inner.save(meeting)
        await self._invalidate(meeting.id, meeting.version)

    async def delete(self, meeting_id: MeetingId) -> None:
        await self.inner.delete(meeting_id)
        await self._invalidate(meeting_id, DELETED)

    async def list_for_user(self, user_id: UserId, email: str | None, relation: Relation, when: When,
                            page: PageRequest) -> Page[Meeting]:
        return await self.inner.list_for_user(user_id, email, relation, when, page)

    async def _store(self, meeting_id: str, version: int, body: str) -> int | None:
        return await self._cache(lambda: self._put(keys=[self._key(meeting_id)], args=[version, body, self._ttl]))

    async def _invalidate(self, meeting_id: str, version: int) -> None:
        self._unsent[meeting_id] = max(version, self._unsent.get(meeting_id, -1))
        if len(self._unsent) > MAX_UNSENT:
            # Beyond this the TTL is what bounds staleness.
            dropped = next(iter(self._unsent))
            del self._unsent[dropped]
            log.error("too many unsent cache invalidations; dropped one", extra={"meeting_id": dropped})
        await self._replay_invalidations()

    async def _replay_invalidations(self) -> bool:
        """Sends unsent invalidations; True when none is left (the cache may be read)."""
        while self._unsent:
            meeting_id, version = next(iter(self._unsent.items()))
            if await self._store(meeting_id, version, "") is None:
                return False
            if self._unsent.get(meeting_id) == version:
                del self._unsent[meeting_id]
        return True

    async def _cache(self, call: Callable[[], Awaitable[T]]) -> T | None:
        if time.monotonic() < self._paused_until:
            return None
        try:
            with redis_unavailable():
                return await call()
        except Unavailable:
            # Pausing keeps an outage from adding a connect timeout to every request.
            self._paused_until = time.monotonic() + self._pause
            log.warning("meeting cache unavailable; serving from the repository", exc_info=True)
            return None


def _decode(entry: str) -> Meeting | None:
    _, _, body = entry.partition(":")
    if not body:
        return None
    try:
        return meeting_from_dict(json.loads(body))
    except (ValueError, KeyError, TypeError):
        log.warning("unreadable meeting cache entry; treating it as a miss", exc_info=True)
        return None
