"""The SQLite and PostgreSQL WebhookStores against the contract the memory one passes."""

from __future__ import annotations

import pytest

from adapters.postgres.webhooks import PostgresWebhookStore
from adapters.sqlite.webhooks import SqliteWebhookStore
from confero_contracts.webhooks import WebhookStoreContract
from tests.integration.postgres_fixtures import pg_pool, postgres_dsn  # noqa: F401
from tests.integration.sqlite_fixtures import sqlite_db  # noqa: F401  (a fixture)


class TestPostgresWebhookStore(WebhookStoreContract):
    @pytest.fixture
    async def store(self, pg_pool):
        await pg_pool.execute("TRUNCATE webhook_endpoints, webhook_deliveries")
        return PostgresWebhookStore(pg_pool)


class TestSqliteWebhookStore(WebhookStoreContract):
    @pytest.fixture
    async def store(self, sqlite_db):
        return SqliteWebhookStore(sqlite_db)
