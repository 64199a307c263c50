"""The MongoDB transcript store against a MongoDB-wire server, through the one contract suite."""

from __future__ import annotations

import pytest
import pytest_asyncio

from adapters.mongo.captions import MongoTranscriptStore
from confero_contracts import TranscriptStoreContract

pytestmark = pytest.mark.integration


class TestMongoTranscriptStore(TranscriptStoreContract):
    @pytest_asyncio.fixture
    async def store(self, mongo_database):
        store = MongoTranscriptStore(mongo_database)
        await store.create_indexes()
        return store


async def test_creating_the_indexes_twice_is_harmless(mongo_database):
    db = mongo_database
    store = MongoTranscriptStore(db)
    await store.create_indexes()
    await store.create_indexes()
    names = {i["name"] async for i in db["captions"].list_indexes()}
    assert "by_meeting" in names
