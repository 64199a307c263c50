"""The SQLite notification stores pass their contracts on a real database file."""

from __future__ import annotations

import pytest

from adapters.sqlite.notifications import (SqliteNotificationHistory, SqlitePreferenceStore,
                                           SqlitePushSubscriptions, SqliteReminderStore)
from confero_contracts.notifications import (NotificationHistoryContract, PreferenceStoreContract,
                                             PushSubscriptionsContract, ReminderStoreContract)
from tests.integration.sqlite_fixtures import sqlite_db  # noqa: F401


class TestSqliteNotificationHistory(NotificationHistoryContract):
    @pytest.fixture
    async def history(self, sqlite_db):
        return SqliteNotificationHistory(sqlite_db)


class TestSqlitePreferenceStore(PreferenceStoreContract):
    @pytest.fixture
    async def store(self, sqlite_db):
        return SqlitePreferenceStore(sqlite_db)


class TestSqliteReminderStore(ReminderStoreContract):
    @pytest.fixture
    async def reminders(self, sqlite_db):
        return SqliteReminderStore(sqlite_db)


class TestSqlitePushSubscriptions(PushSubscriptionsContract):
    @pytest.fixture
    async def subscriptions(self, sqlite_db):
        return SqlitePushSubscriptions(sqlite_db)
