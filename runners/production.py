"""The production adapter family: PostgreSQL for aggregates and the outbox, Redis for sessions and events.

Same provider names as ``runners.containers.MemoryAdapters``.  The pool and the client are async
Resources, so every provider that depends on them is awaitable (``runners.containers.resolve``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import asyncpg
from dependency_injector import containers, providers
from redis.asyncio import Redis

from adapters.inprocess.commit_signal import CommitSignal
from adapters.postgres.meeting_queries import PostgresMeetingQueries
from adapters.postgres.meetings import PostgresMeetingRepository
from adapters.postgres.migrate import migrate
from adapters.postgres.outbox import PostgresOutbox
from adapters.postgres.pool import open_pool
from adapters.postgres.recordings import PostgresRecordingRepository
from adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory
from adapters.postgres.users import PostgresUserRepository
from adapters.postgres.webhooks import PostgresWebhookStore
from adapters.redis.client import open_redis
from adapters.redis.dead_letters import RedisDeadLetters
from adapters.redis.events import RedisStreamEventPublisher, RedisStreamSubscriber
from adapters.redis.limits import RedisAttemptLimiter
from adapters.redis.presence import RedisRoomPresence
from adapters.redis.signal_bus import RedisSignalBus
from adapters.redis.sessions import RedisSessionStore
from adapters.redis.throttle import RedisLoginThrottle
from adapters.memory.events import InMemoryEventBus
from adapters.memory.meeting_queries import InMemoryMeetingQueries
from adapters.memory.meetings import InMemoryMeetingRepository
from adapters.memory.outbox import InMemoryOutbox
from adapters.memory.recordings import InMemoryRecordingRepository
from adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory
from adapters.memory.users import InMemoryUserRepository
from adapters.memory.webhooks import InMemoryWebhookStore
from runners.media import media_server
from runners.recording import UnconfiguredRecorder, blob_store
from runners.recording_media import aiortc_room_recorder, ffmpeg_processor
from runners.settings import Settings
from runners.signaling.feeds import stream_feed
from runners.workers import webhooks as webhook_worker

log = logging.getLogger(__name__)
EVENT_STREAM = "confero:events"


async def postgres_pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    async with open_pool(settings.postgres_dsn) as pool:
        applied = await migrate(pool)
        if applied:
            log.info("migrations applied", extra={"migrations": applied})
        yield pool


async def redis_client(settings: Settings) -> AsyncIterator[Redis]:
    async with open_redis(settings.redis_url) as client:
        yield client


class ProductionAdapters(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    pool = providers.Resource(postgres_pool, settings)
    redis = providers.Resource(redis_client, settings)

    users = providers.Singleton(PostgresUserRepository, pool)
    # No cache in front: a get is one primary-key SELECT, as fast as a Redis GET here, and meeting
    # password hashes stay in PostgreSQL (bench/api.py has the numbers).
    meetings = providers.Singleton(PostgresMeetingRepository, pool)
    meeting_queries = providers.Singleton(PostgresMeetingQueries, pool)
    sessions = providers.Singleton(RedisSessionStore, redis)
    throttle = providers.Singleton(RedisLoginThrottle, redis)
    events = providers.Singleton(RedisStreamEventPublisher, redis, stream=EVENT_STREAM)
    dead_letters = providers.Singleton(RedisDeadLetters, redis, stream=EVENT_STREAM)
    outbox = providers.Singleton(PostgresOutbox, pool)
    commit_signal = providers.Singleton(CommitSignal)
    uow = providers.Singleton(PostgresUnitOfWorkFactory, pool, on_commit=commit_signal.provided.notify)
    attempts = providers.Singleton(RedisAttemptLimiter, redis)
    presence = providers.Singleton(RedisRoomPresence, redis)
    signal_bus = providers.Singleton(RedisSignalBus, redis)
    # The SFU lives in the process that holds the participant's socket (docs/signaling.md, section 13).
    media = providers.Singleton(media_server, signal_bus, settings)
    # One consumer group for all signaling processes: each meeting event is turned into room messages
    # once, and the signal bus fans those out to every process.
    event_feed = providers.Callable(stream_feed, providers.Singleton(
        RedisStreamSubscriber, redis, EVENT_STREAM, "signaling", settings.provided.instance_id, start="$",
        max_attempts=settings.provided.event_max_attempts))
    webhooks = providers.Singleton(PostgresWebhookStore, pool)
    # One consumer group for every process: each event becomes its deliveries once.
    webhook_feed = providers.Callable(webhook_worker.stream_feed, providers.Singleton(
        RedisStreamSubscriber, redis, EVENT_STREAM, "webhooks", settings.provided.instance_id, start="$",
        max_attempts=settings.provided.event_max_attempts))
    # Recording, as in runners.containers.MemoryAdapters (meeting ends reach it through event_feed).
    recordings = providers.Singleton(PostgresRecordingRepository, pool)
    blobs = providers.Resource(blob_store, settings)
    recorder = providers.Singleton(aiortc_room_recorder, media, blobs, settings)
    recording_processor = providers.Singleton(ffmpeg_processor, blobs, settings)


class RemoteDataAdapters(ProductionAdapters):
    """ProductionAdapters without PostgreSQL, for a process that serves only signaling (and media): rooms,
    sessions and events in Redis as in ProductionAdapters; whom to admit, what a joining member is told
    about recordings and captions, and display names come from the users and meetings services over gRPC
    (runners/remote.py overrides those ports).  The stores of data this process does not serve are
    process-local and stay empty: no route of this process reaches them, and nothing records here
    (recordings need the database: a recording refused as Unavailable).  Its outbox and webhooks are local
    too, so it takes no events from the consumer groups of the processes that keep the data."""

    pool = providers.Object(None)
    users = providers.Singleton(InMemoryUserRepository)
    meetings = providers.Singleton(InMemoryMeetingRepository)
    meeting_queries = providers.Singleton(InMemoryMeetingQueries, meetings)
    outbox = providers.Singleton(InMemoryOutbox)
    recordings = providers.Singleton(InMemoryRecordingRepository)
    uow = providers.Singleton(InMemoryUnitOfWorkFactory, meetings, users, outbox,
                              on_commit=ProductionAdapters.commit_signal.provided.notify, recordings=recordings)
    webhooks = providers.Singleton(InMemoryWebhookStore)
    webhook_feed = providers.Callable(webhook_worker.memory_feed, providers.Singleton(InMemoryEventBus))
    recorder = providers.Singleton(UnconfiguredRecorder)
    recording_processor = providers.Singleton(UnconfiguredRecorder)
