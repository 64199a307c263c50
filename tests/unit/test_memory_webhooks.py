"""The memory WebhookStore against its contract."""

from __future__ import annotations

import pytest

from adapters.memory.webhooks import InMemoryWebhookStore
from confero_contracts.webhooks import WebhookStoreContract


class TestInMemoryWebhookStore(WebhookStoreContract):
    @pytest.fixture
    async def store(self):
        return InMemoryWebhookStore()
