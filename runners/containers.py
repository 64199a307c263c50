"""The composition root: adapter families with the same provider names, and the services on top.

``MemoryAdapters`` is the embedded default; ``ProductionAdapters`` (PostgreSQL + Redis) has the same
provider names, so the application container never knows which one it got.
"""

from __future__ import annotations

import datetime as dt
import inspect
from typing import Any

from dependency_injector import containers, providers

from adapters.crypto.argon2 import Argon2PasswordHasher
from adapters.crypto.jwt import JwtTokenCodec
from adapters.memory.events import InMemoryEventBus
from adapters.memory.combiner import InProcessCombiner
from adapters.inprocess.commit_signal import CommitSignal
from adapters.memory.limits import InMemoryAttemptLimiter
from adapters.memory.locks import InProcessKeyedLocks
from adapters.inprocess.meeting_access import InProcessMeetingAccess
from adapters.inprocess.recording_status import InProcessRecordingStatus
from adapters.inprocess.captioned_meetings import RepositoryCaptionedMeetings
from adapters.inprocess.user_directory import RepositoryUserDirectory
from adapters.memory.meeting_queries import InMemoryMeetingQueries
from adapters.memory.meetings import InMemoryMeetingRepository
from adapters.memory.outbox import InMemoryOutbox
from adapters.memory.recordings import InMemoryRecordingRepository
from adapters.crypto.download_links import HmacDownloadLinks
from adapters.memory.rooms import InMemoryRoomPresence, InMemorySignalBus
from adapters.memory.throttle import InMemoryLoginThrottle
from adapters.memory.tokens import InMemorySessionStore
from adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory
from adapters.memory.users import InMemoryUserRepository
from adapters.metrics.publishing import MeasuredPublisher
from adapters.system.clock import SystemClock
from domain.meetings.rules import MeetingLimits
from domain.meetings.service import MeetingService
from domain.messaging.dead_letters import DeadLetterService
from domain.messaging.relay import OutboxRelay
from domain.recordings.service import RecordingService
from domain.rooms.service import RoomService
from adapters.httpclient.webhooks import AiohttpWebhookSender
from adapters.memory.webhooks import InMemoryWebhookStore
from domain.users.links import LinkLimits, LinkPolicy
from domain.webhooks.model import DisablePolicy, RetryPolicy
from domain.webhooks.service import WebhookAdminService, WebhookDeliverer, WebhookDispatcher
from domain.webhooks.urls import TargetRules
from runners.workers.webhooks import memory_feed
from domain.users.links_service import AccountLinkService
from domain.users.service import TokenPolicy, UserService
from domain.users.throttling import AttemptLimits
from runners.media import media_server
from runners.recording import blob_store
from runners.recording_media import aiortc_room_recorder, ffmpeg_processor
from runners.settings import AdapterFamily, Settings
from runners.signaling.feeds import in_memory_feed


def _hasher(settings: Settings) -> Argon2PasswordHasher:
    limits = {"concurrency": settings.password_hash_concurrency or None, "queue": settings.password_hash_queue}
    return Argon2PasswordHasher.fast(**limits) if settings.fast_password_hashing else Argon2PasswordHasher(**limits)


def _attempt_limits(settings: Settings) -> AttemptLimits:
    return AttemptLimits(per_client=settings.login_max_failures, per_login=settings.login_account_max_failures,
                         per_address=settings.login_address_max_failures,
                         window=dt.timedelta(seconds=settings.login_window_seconds),
                         registrations_per_address=settings.registrations_per_address)


def _link_policy(settings: Settings) -> LinkPolicy:
    return LinkPolicy(verify_ttl=dt.timedelta(seconds=settings.email_verification_ttl),
                      reset_ttl=dt.timedelta(seconds=settings.password_reset_ttl))


def _link_limits(settings: Settings) -> LinkLimits:
    return LinkLimits(per_email=settings.account_link_requests_per_email,
                      per_address=settings.account_link_requests_per_address)


def _webhook_rules(settings: Settings) -> TargetRules:
    """Production: https to public addresses only (unless explicitly allowed private ones); embedded
    (development, tests): also http to a loopback host, and private addresses."""
    if settings.adapters is AdapterFamily.PRODUCTION:
        return TargetRules(require_https=True, allow_private=settings.webhook_allow_private_targets)
    return TargetRules(require_https=False, allow_private=True)


def _webhook_retry(settings: Settings) -> RetryPolicy:
    return RetryPolicy(base=dt.timedelta(seconds=settings.webhook_retry_base_seconds),
                       cap=dt.timedelta(seconds=settings.webhook_retry_max_seconds),
                       max_attempts=settings.webhook_max_attempts)


def _webhook_disable(settings: Settings) -> DisablePolicy:
    return DisablePolicy(failures=settings.webhook_disable_after_failures,
                         window=dt.timedelta(seconds=settings.webhook_disable_after_seconds))


def _meeting_limits(settings: Settings) -> MeetingLimits:
    return MeetingLimits(
        password_guesses_per_user=settings.meeting_password_max_guesses,
        password_guesses_per_meeting=settings.meeting_password_max_guesses_per_meeting,
        password_guess_window=dt.timedelta(seconds=settings.meeting_password_window_seconds),
        open_meetings_per_host=settings.max_open_meetings_per_user,
        invitations_per_meeting=settings.max_invitations_per_meeting)


class MemoryAdapters(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    users = providers.Singleton(InMemoryUserRepository)
    meetings = providers.Singleton(InMemoryMeetingRepository)
    meeting_queries = providers.Singleton(InMemoryMeetingQueries, meetings)
    sessions = providers.Singleton(InMemorySessionStore)
    throttle = providers.Singleton(InMemoryLoginThrottle)
    events = providers.Singleton(InMemoryEventBus, max_attempts=settings.provided.event_max_attempts)
    dead_letters = events.provided.dead_letters
    outbox = providers.Singleton(InMemoryOutbox)
    commit_signal = providers.Singleton(CommitSignal)
    recordings = providers.Singleton(InMemoryRecordingRepository)
    uow = providers.Singleton(InMemoryUnitOfWorkFactory, meetings, users, outbox,
                              on_commit=commit_signal.provided.notify, recordings=recordings)
    attempts = providers.Singleton(InMemoryAttemptLimiter)
    presence = providers.Singleton(InMemoryRoomPresence)
    signal_bus = providers.Singleton(InMemorySignalBus)
    event_feed = providers.Callable(in_memory_feed, events)
    media = providers.Singleton(media_server, signal_bus, settings)
    webhooks = providers.Singleton(InMemoryWebhookStore)
    webhook_feed = providers.Callable(memory_feed, events)
    # Recording: files in APP_RECORDINGS_DIR or S3; the SFU's recorder taps this process's media server,
    # Debian's ffmpeg makes the meeting file.
    blobs = providers.Resource(blob_store, settings)
    recorder = providers.Singleton(aiortc_room_recorder, media, blobs, settings)
    recording_processor = providers.Singleton(ffmpeg_processor, blobs, settings)


class Application(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    adapters = providers.DependenciesContainer()

    clock = providers.Singleton(SystemClock)
    hasher = providers.Singleton(_hasher, settings)
    codec = providers.Singleton(JwtTokenCodec, secret=settings.provided.jwt_secret)
    token_policy = providers.Singleton(
        TokenPolicy,
        access_ttl=providers.Callable(lambda s: dt.timedelta(seconds=s.access_token_ttl), settings),
        refresh_ttl=providers.Callable(lambda s: dt.timedelta(seconds=s.refresh_token_ttl), settings),
    )
    user_service = providers.Singleton(
        UserService, users=adapters.users, hasher=hasher, codec=codec, sessions=adapters.sessions,
        throttle=adapters.throttle, uow=adapters.uow, clock=clock, policy=token_policy,
        limits=providers.Callable(_attempt_limits, settings), links=providers.Callable(_link_policy, settings),
    )
    link_service = providers.Singleton(
        AccountLinkService, users=adapters.users, hasher=hasher, sessions=adapters.sessions,
        throttle=adapters.throttle, uow=adapters.uow, clock=clock, policy=providers.Callable(_link_policy, settings),
        limits=providers.Callable(_link_limits, settings),
    )
    meeting_service = providers.Singleton(
        MeetingService, uow=adapters.uow, meetings=adapters.meetings, queries=adapters.meeting_queries,
        users=adapters.users, hasher=hasher, clock=clock, guesses=adapters.attempts,
        limits=providers.Callable(_meeting_limits, settings), combiner=providers.Singleton(InProcessCombiner),
        locks=providers.Singleton(InProcessKeyedLocks),
    )
    webhook_rules = providers.Singleton(_webhook_rules, settings)
    webhook_sender = providers.Singleton(AiohttpWebhookSender, webhook_rules,
                                         timeout=settings.provided.webhook_timeout_seconds)
    webhook_admin = providers.Singleton(WebhookAdminService, store=adapters.webhooks, clock=clock, rules=webhook_rules)
    webhook_dispatcher = providers.Singleton(WebhookDispatcher, store=adapters.webhooks, clock=clock)
    webhook_deliverer = providers.Singleton(
        WebhookDeliverer, store=adapters.webhooks, sender=webhook_sender, clock=clock,
        retry=providers.Callable(_webhook_retry, settings), disable=providers.Callable(_webhook_disable, settings),
        keep_log=providers.Callable(lambda s: dt.timedelta(days=s.webhook_log_days), settings),
    )
    relay = providers.Singleton(OutboxRelay, outbox=adapters.outbox,
                                publisher=providers.Singleton(MeasuredPublisher, adapters.events))
    dead_letter_service = providers.Singleton(DeadLetterService, adapters.dead_letters)
    meeting_access = providers.Singleton(InProcessMeetingAccess, meeting_service, adapters.users)
    # What a joining member is told; the meetings service's answers over gRPC in a process without a
    # database (runners/remote.py overrides these three).
    recording_status = providers.Singleton(InProcessRecordingStatus, adapters.recordings)
    captioned_meetings = providers.Singleton(RepositoryCaptionedMeetings, adapters.meetings)
    user_directory = providers.Singleton(RepositoryUserDirectory, adapters.users)
    room_service = providers.Singleton(
        RoomService, presence=adapters.presence, bus=adapters.signal_bus, meetings=meeting_access, clock=clock,
        member_ttl=providers.Callable(lambda s: dt.timedelta(seconds=s.member_ttl_seconds), settings),
        grace=providers.Callable(lambda s: dt.timedelta(seconds=s.reconnect_grace_seconds), settings),
        media=adapters.media,
        recordings=recording_status,
    )
    recording_service = providers.Singleton(
        RecordingService, uow=adapters.uow, recorder=adapters.recorder, processor=adapters.recording_processor,
        blobs=adapters.blobs, links=providers.Singleton(HmacDownloadLinks, settings.provided.jwt_secret),
        clock=clock, link_ttl=providers.Callable(lambda s: dt.timedelta(seconds=s.recording_link_ttl), settings),
        instance=settings.provided.instance_id,
    )


def adapter_family(settings: Settings) -> containers.DeclarativeContainer:
    if settings.adapters is AdapterFamily.PRODUCTION:
        from runners.production import ProductionAdapters, RemoteDataAdapters
        from runners.remote import without_database

        return (RemoteDataAdapters if without_database(settings) else ProductionAdapters)(settings=settings)
    if settings.sqlite_path:
        from runners.sqlite import SqliteAdapters

        return SqliteAdapters(settings=settings)
    return MemoryAdapters(settings=settings)


def build(settings: Settings) -> tuple[Application, containers.DeclarativeContainer]:
    family = adapter_family(settings)
    return Application(settings=settings, adapters=family), family


async def resolve(provider: Any) -> Any:
    """Async resources make their dependants awaitable; this hides which family we are on."""
    value = provider()
    return await value if inspect.isawaitable(value) else value
