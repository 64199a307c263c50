"""CachedMeetingRepository: the MeetingRepository contract through the cache, and the cache itself."""

from __future__ import annotations

import socket
import time

import attrs
import pytest

from adapters.memory.meetings import InMemoryMeetingRepository
from adapters.redis.client import open_redis
from adapters.redis.meeting_cache import CachedMeetingRepository
from adapters.redis.meeting_codec import meeting_from_dict, meeting_to_dict
from domain.meetings.errors import MeetingNotFound
from domain.meetings.model import Meeting, MeetingSettings
from tests.contracts.factories import a_busy_meeting, a_meeting
from tests.contracts.meetings import MeetingRepositoryContract
from tests.integration.redis_fixtures import redis_client, redis_prefix  # noqa: F401

pytestmark = pytest.mark.integration


class TestCachedMeetingRepository(MeetingRepositoryContract):
    @pytest.fixture
    async def repo(self, redis_client, redis_prefix):
        return CachedMeetingRepository(InMemoryMeetingRepository(), redis_client, prefix=redis_prefix)


@pytest.fixture
async def cached(redis_client, redis_prefix):
    return CachedMeetingRepository(InMemoryMeetingRepository(), redis_client, prefix=redis_prefix)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the codec ---------------------------------------------------------------------------------------

def test_the_codec_round_trips_every_field():
    meeting = a_busy_meeting(version=3, ended_at=a_meeting().created_at)
    assert meeting_from_dict(meeting_to_dict(meeting)) == meeting


def test_the_codec_knows_every_field_of_the_aggregate():
    meeting_fields = {f.name for f in attrs.fields(Meeting)} - {"_events"}
    assert set(meeting_to_dict(a_meeting())) - {"format"} == meeting_fields
    assert set(meeting_to_dict(a_meeting())["settings"]) == {f.name for f in attrs.fields(MeetingSettings)}


def test_the_codec_refuses_another_format():
    with pytest.raises(ValueError):
        meeting_from_dict({**meeting_to_dict(a_meeting()), "format": 99})


# -- cache behaviour ---------------------------------------------------------------------------------

async def test_the_first_get_misses_and_the_next_ones_hit(cached):
    meeting = a_busy_meeting()
    await cached.add(meeting)
    assert await cached.get(meeting.id) == meeting
    assert await cached.get(meeting.id) == meeting
    assert await cached.get(meeting.id) == meeting
    assert (cached.hits, cached.misses) == (2, 1)


async def test_a_saved_meeting_is_never_served_stale(cached):
    meeting = a_meeting()
    await cached.add(meeting)
    loaded = await cached.get(meeting.id)
    loaded.title = "renamed"
    await cached.save(loaded)
    got = await cached.get(meeting.id)
    assert (got.title, got.version) == ("renamed", 1)
    assert await cached.get(meeting.id) == got
    assert (cached.hits, cached.misses) == (1, 2)


async def test_a_deleted_meeting_is_not_served_from_the_cache(cached):
    meeting = a_meeting()
    await cached.add(meeting)
    await cached.get(meeting.id)
    await cached.delete(meeting.id)
    with pytest.raises(MeetingNotFound):
        await cached.get(meeting.id)


async def test_a_reader_that_loaded_before_a_save_cannot_put_the_old_version_back(cached, redis_client):
    meeting = a_meeting()
    await cached.add(meeting)
    old = await cached.inner.get(meeting.id)  # a slow reader's copy, loaded before the save
    newer = await cached.get(meeting.id)
    newer.title = "newer"
    await cached.save(newer)
    await cached._store(old.id, old.version, '{"stale": true}')
    assert (await cached.get(meeting.id)).title == "newer"


async def test_a_reader_cannot_put_a_deleted_meeting_back(cached):
    meeting = a_meeting()
    await cached.add(meeting)
    await cached.delete(meeting.id)
    await cached._store(meeting.id, meeting.version, '{"stale": true}')
    with pytest.raises(MeetingNotFound):
        await cached.get(meeting.id)


async def test_the_cache_entry_expires(cached, redis_client, redis_prefix):
    meeting = a_meeting()
    await cached.add(meeting)
    await cached.get(meeting.id)
    assert 0 < await redis_client.ttl(f"{redis_prefix}meeting:{meeting.id}") <= 300


async def test_an_unreadable_entry_is_a_miss(cached, redis_client, redis_prefix):
    meeting = a_meeting()
    await cached.add(meeting)
    await redis_client.set(f"{redis_prefix}meeting:{meeting.id}", "0:not json")
    assert await cached.get(meeting.id) == meeting
    assert cached.misses == 1


async def test_with_redis_down_requests_are_served_by_the_inner_repository(caplog):
    inner = InMemoryMeetingRepository()
    meeting = a_meeting()
    await inner.add(meeting)
    async with open_redis(f"redis://127.0.0.1:{free_port()}/0") as dead:
        repo = CachedMeetingRepository(inner, dead)
        started = time.monotonic()
        assert await repo.get(meeting.id) == meeting
        loaded = await repo.get(meeting.id)
        await repo.save(loaded)
        assert (await repo.get(meeting.id)).version == 1
        assert time.monotonic() - started < 2
    assert repo.hits == 0 and repo.misses == 3
    assert "meeting cache unavailable" in caplog.text


async def test_invalidations_missed_during_an_outage_are_replayed(cached, redis_client):
    meeting = a_meeting()
    await cached.add(meeting)
    await cached.get(meeting.id)  # cached at version 0
    real_put = cached._put

    async def outage(**_):
        raise ConnectionError("redis is down")  # what redis-py's socket layer raises (an OSError)

    cached._put = outage
    loaded = await cached.inner.get(meeting.id)
    loaded.title = "changed while redis was away"
    await cached.save(loaded)
    cached._put, cached._paused_until = real_put, 0.0
    assert (await cached.get(meeting.id)).title == "changed while redis was away"
