"""The memory notification adapters pass their contracts."""

from __future__ import annotations

import datetime as dt

import pytest

from adapters.memory.job_queue import InMemoryJobQueue
from adapters.memory.notifications import (InMemoryDeliveryLimiter, InMemoryNotificationHistory,
                                           InMemoryPreferenceStore, InMemoryPushSubscriptions,
                                           InMemoryReminderStore, InMemorySentLog)
from confero_contracts.notifications import (DeliveryLimiterContract, JobQueueContract, NotificationHistoryContract,
                                             PreferenceStoreContract, PushSubscriptionsContract,
                                             ReminderStoreContract, SentLogContract)


class TestInMemoryNotificationHistory(NotificationHistoryContract):
    @pytest.fixture
    async def history(self):
        return InMemoryNotificationHistory()


class TestInMemoryPreferenceStore(PreferenceStoreContract):
    @pytest.fixture
    async def store(self):
        return InMemoryPreferenceStore()


class TestInMemoryReminderStore(ReminderStoreContract):
    @pytest.fixture
    async def reminders(self):
        return InMemoryReminderStore()


class TestInMemoryPushSubscriptions(PushSubscriptionsContract):
    @pytest.fixture
    async def subscriptions(self):
        return InMemoryPushSubscriptions()


class TestInMemoryJobQueue(JobQueueContract):
    @pytest.fixture
    async def queue(self):
        return InMemoryJobQueue(lease=1.0)


class TestInMemorySentLog(SentLogContract):
    @pytest.fixture
    async def sent_log(self):
        return InMemorySentLog()


class TestInMemoryDeliveryLimiter(DeliveryLimiterContract):
    @pytest.fixture
    async def limiter(self):
        return InMemoryDeliveryLimiter(3, dt.timedelta(minutes=1))
