"""The MongoDB transcript store against a MongoDB-wire server, through the one contract suite."""

from __future__ import annotations

import pytest
import pytest_asyncio

from adapters.mongo.captions import MongoTranscriptStore
from adapters.mongo.client import open_database
from confero_contracts import TranscriptStoreContract
from domain.shared.ids import new_id

pytestmark = pytest.mark.integration


class TestMongoTranscriptStore(TranscriptStoreContract):
    @pytest_asyncio.fixture
    async def store(self, mongo_server_url):
        async with open_database(mongo_server_url, f"t_{new_id()[:8]}") as db:
            store = MongoTranscriptStore(db)
            await store.create_indexes()
            try:
                yield store
            finally:
                await db.client.drop_database(db.name)


async def test_creating_the_indexes_twice_is_harmless(mongo_server_url):
    async with open_database(mongo_server_url, f"t_{new_id()[:8]}") as db:
        store = MongoTranscriptStore(db)
        await store.create_indexes()
        await store.create_indexes()
        names = {i["name"] async for i in db["captions"].list_indexes()}
        assert "by_meeting" in names
        await db.client.drop_database(db.name)
