"""Confero's port contract suites, for any adapter: yours too.

Each suite is a class of async tests written once against a port's docstring (``ports/``).  Subclass
it, provide the one fixture it leaves abstract (an instance of your adapter), and run pytest::

    import pytest_asyncio
    from confero_contracts import SessionStoreContract

    class TestMySessionStore(SessionStoreContract):
        @pytest_asyncio.fixture
        async def store(self):
            async with open_my_client() as client:
                yield MySessionStore(client)

The pytest plugin (``confero_contracts.plugin``, loaded by the ``pytest11`` entry point when Confero
is installed) runs the suites' tests under pytest-asyncio and marks them ``confero_contract``.
docs/architecture.md, section 7, lists the suites and their fixtures.  Builders for test data are in
``confero_contracts.factories``.
"""

from __future__ import annotations

from confero_contracts.account_links import AccountLinkStoreContract
from confero_contracts.analysis import AnalysisStoreContract
from confero_contracts.authentication import AuthenticatorContract, UserDirectoryContract
from confero_contracts.blobs import BlobStoreContract
from confero_contracts.captions import TranscriptStoreContract
from confero_contracts.combining import KeyedCombinerContract
from confero_contracts.discovery import ServiceRegistryContract
from confero_contracts.events import EventPublisherContract
from confero_contracts.inference import InferenceEngineContract
from confero_contracts.limits import AttemptLimiterContract
from confero_contracts.locks import KeyedLocksContract
from confero_contracts.login_races import LoginRaceSuite
from confero_contracts.meeting_access import MeetingAccessContract
from confero_contracts.meeting_state import MeetingStateContract
from confero_contracts.meeting_queries import MeetingQueriesContract
from confero_contracts.media_server import MediaServerContract
from confero_contracts.meetings import MeetingRepositoryContract
from confero_contracts.notifications import (DeliveryLimiterContract, JobQueueContract, NotificationHistoryContract,
                                             PreferenceStoreContract, PushSubscriptionsContract,
                                             ReminderStoreContract, SentLogContract)
from confero_contracts.outbox import UnitOfWorkContract
from confero_contracts.placement import RoomPlacementContract
from confero_contracts.recording_media import RecordingProcessorContract, RoomRecorderContract
from confero_contracts.recordings import RecordingRepositoryContract
from confero_contracts.recording_files import RecordingFilesContract
from confero_contracts.rooms import RoomPresenceContract, SignalBusContract
from confero_contracts.sessions import SessionStoreContract
from confero_contracts.speech_to_text import SpeechToTextContract
from confero_contracts.throttle import LoginThrottleContract
from confero_contracts.users import UserRepositoryContract
from confero_contracts.webhooks import WebhookStoreContract

# Every suite, with the names of the fixtures an adapter's subclass must provide.
SUITES: dict[type, tuple[str, ...]] = {
    UserRepositoryContract: ("repo",),
    SessionStoreContract: ("store",),
    LoginThrottleContract: ("throttle",),
    LoginRaceSuite: ("stores",),
    MeetingRepositoryContract: ("repo",),
    MeetingQueriesContract: ("repo", "queries"),
    UnitOfWorkContract: ("family",),
    EventPublisherContract: ("harness",),
    RoomPresenceContract: ("presence",),
    SignalBusContract: ("bus",),
    KeyedLocksContract: ("locks",),
    KeyedCombinerContract: ("combiner",),
    AttemptLimiterContract: ("limiter",),
    NotificationHistoryContract: ("history",),
    PreferenceStoreContract: ("store",),
    ReminderStoreContract: ("reminders",),
    PushSubscriptionsContract: ("subscriptions",),
    JobQueueContract: ("queue",),
    SentLogContract: ("sent_log",),
    DeliveryLimiterContract: ("limiter",),
    AccountLinkStoreContract: ("family",),
    WebhookStoreContract: ("store",),
    RecordingRepositoryContract: ("repo", "units"),
    BlobStoreContract: ("store",),
    AnalysisStoreContract: ("store",),
    TranscriptStoreContract: ("store",),
    InferenceEngineContract: ("engine",),
    RoomRecorderContract: ("harness",),
    RecordingProcessorContract: ("processor", "blobs"),
    RecordingFilesContract: ("harness",),
    ServiceRegistryContract: ("harness",),
    MeetingAccessContract: ("harness",),
    AuthenticatorContract: ("harness",),
    UserDirectoryContract: ("harness",),
    SpeechToTextContract: ("harness",),
    MeetingStateContract: ("harness",),
    MediaServerContract: ("harness",),
    RoomPlacementContract: ("harness",),
}

__all__ = [
    "SUITES", "AccountLinkStoreContract", "AnalysisStoreContract", "AttemptLimiterContract", "BlobStoreContract",
    "DeliveryLimiterContract", "RecordingFilesContract",
    "EventPublisherContract", "InferenceEngineContract", "JobQueueContract", "KeyedCombinerContract",
    "KeyedLocksContract", "LoginRaceSuite", "LoginThrottleContract", "NotificationHistoryContract",
    "PreferenceStoreContract", "PushSubscriptionsContract", "RecordingProcessorContract",
    "RecordingRepositoryContract", "ReminderStoreContract", "SentLogContract",
    "MeetingQueriesContract", "MeetingRepositoryContract", "RoomPresenceContract", "RoomRecorderContract",
    "ServiceRegistryContract", "SessionStoreContract",
    "SignalBusContract", "SpeechToTextContract", "TranscriptStoreContract", "UnitOfWorkContract",
    "UserRepositoryContract", "WebhookStoreContract",
    "MeetingAccessContract", "AuthenticatorContract", "UserDirectoryContract",
    "MeetingStateContract",
    "MediaServerContract",
    "RoomPlacementContract",
]
