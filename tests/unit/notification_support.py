"""A notification service on memory adapters with a frozen clock, for unit tests."""

from __future__ import annotations

import datetime as dt
import random

from attrs import define, field

from adapters.inprocess.notification_directory import RepositoryDirectory
from adapters.memory.job_queue import InMemoryJobQueue
from adapters.memory.meetings import InMemoryMeetingRepository
from adapters.memory.notifications import (InMemoryDeliveryLimiter, InMemoryLiveNotifications,
                                           InMemoryNotificationHistory, InMemoryPreferenceStore,
                                           InMemoryPushSubscriptions, InMemoryReminderStore, InMemorySentLog)
from adapters.memory.users import InMemoryUserRepository
from adapters.system.clock import FrozenClock
from domain.notifications.dispatch import Dispatcher
from domain.notifications.errors import DeliveryFailed, DeliveryRejected
from domain.notifications.jobs import DeliveryJob, RetryPolicy
from domain.notifications.model import Channel
from domain.notifications.service import Links, NotificationService

NOW = dt.datetime(2030, 5, 17, 9, 0, tzinfo=dt.timezone.utc)
BASE = "https://confero.example"
SECRET = b"unsubscribe-secret-for-tests-0123456789"


@define
class FakeSender:
    """A channel that records, or fails as told (a list of exceptions to raise first)."""

    channel: Channel
    sent: list[DeliveryJob] = field(factory=list)
    failures: list[Exception] = field(factory=list)
    poison: set[str] = field(factory=set)  # addresses that always fail (transiently)

    async def send(self, job: DeliveryJob) -> None:
        if job.address in self.poison:
            raise DeliveryFailed("this address always fails")
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(job)


@define
class Rig:
    clock: FrozenClock
    users: InMemoryUserRepository
    meetings: InMemoryMeetingRepository
    queue: InMemoryJobQueue
    history: InMemoryNotificationHistory
    preferences: InMemoryPreferenceStore
    reminders: InMemoryReminderStore
    live: InMemoryLiveNotifications
    service: NotificationService
    dispatcher: Dispatcher
    email: FakeSender
    sms: FakeSender
    push: FakeSender

    async def deliver_all(self) -> int:
        n = 0
        while got := await self.dispatcher.run_once("w", 100, 0):
            n += got
        return n


def a_rig(*, limit: int = 1000, max_attempts: int = 3) -> Rig:
    clock = FrozenClock(NOW)
    users, meetings = InMemoryUserRepository(), InMemoryMeetingRepository()
    queue = InMemoryJobQueue(clock)
    history, prefs, reminders = InMemoryNotificationHistory(), InMemoryPreferenceStore(), InMemoryReminderStore()
    live, subs = InMemoryLiveNotifications(), InMemoryPushSubscriptions()
    service = NotificationService(history=history, preferences=prefs, reminders=reminders, queue=queue, live=live,
                                  directory=RepositoryDirectory(users, meetings), subscriptions=subs, clock=clock,
                                  links=Links(base_url=BASE, unsubscribe_secret=SECRET))
    email, sms, push = FakeSender(Channel.EMAIL), FakeSender(Channel.SMS), FakeSender(Channel.PUSH)
    dispatcher = Dispatcher(queue=queue, sent=InMemorySentLog(), limiter=InMemoryDeliveryLimiter(limit, dt.timedelta(hours=1)),
                            senders={Channel.EMAIL: email, Channel.SMS: sms, Channel.PUSH: push}, clock=clock,
                            retry=RetryPolicy(max_attempts=max_attempts, base=dt.timedelta(seconds=2)),
                            rng=random.Random(7))
    return Rig(clock, users, meetings, queue, history, prefs, reminders, live, service, dispatcher, email, sms, push)


__all__ = ["BASE", "NOW", "SECRET", "DeliveryFailed", "DeliveryRejected", "FakeSender", "Rig", "a_rig"]
