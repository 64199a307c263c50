"""The PostgreSQL notification stores pass their contracts against a real server."""

from __future__ import annotations

import pytest

from adapters.postgres.notifications import (PostgresNotificationHistory, PostgresPreferenceStore,
                                             PostgresPushSubscriptions, PostgresReminderStore)
from confero_contracts.notifications import (NotificationHistoryContract, PreferenceStoreContract,
                                             PushSubscriptionsContract, ReminderStoreContract)
from tests.integration.postgres_fixtures import pg_pool, postgres_dsn  # noqa: F401

pytestmark = pytest.mark.integration


class TestPostgresNotificationHistory(NotificationHistoryContract):
    @pytest.fixture
    async def history(self, pg_pool):
        return PostgresNotificationHistory(pg_pool)


class TestPostgresPreferenceStore(PreferenceStoreContract):
    @pytest.fixture
    async def store(self, pg_pool):
        return PostgresPreferenceStore(pg_pool)


class TestPostgresReminderStore(ReminderStoreContract):
    @pytest.fixture
    async def reminders(self, pg_pool):
        return PostgresReminderStore(pg_pool)


class TestPostgresPushSubscriptions(PushSubscriptionsContract):
    @pytest.fixture
    async def subscriptions(self, pg_pool):
        return PostgresPushSubscriptions(pg_pool)
