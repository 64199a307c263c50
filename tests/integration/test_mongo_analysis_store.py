"""The MongoDB analysis store against a MongoDB-wire server, through the one contract suite."""

from __future__ import annotations

import pytest
import pytest_asyncio

from adapters.mongo.analysis import MongoAnalysisStore
from adapters.mongo.client import open_database
from confero_contracts import AnalysisStoreContract
from domain.shared.errors import Unavailable
from domain.shared.ids import new_id

pytestmark = pytest.mark.integration


class TestMongoAnalysisStore(AnalysisStoreContract):
    @pytest_asyncio.fixture
    async def store(self, mongo_server_url):
        # A database per test: the suite's meeting and user ids repeat across tests.
        async with open_database(mongo_server_url, f"t_{new_id()[:8]}") as db:
            store = MongoAnalysisStore(db)
            await store.create_indexes()
            try:
                yield store
            finally:
                await db.client.drop_database(db.name)


async def test_creating_the_indexes_twice_is_harmless(mongo_server_url):
    async with open_database(mongo_server_url, f"t_{new_id()[:8]}") as db:
        store = MongoAnalysisStore(db)
        await store.create_indexes()
        await store.create_indexes()
        names = {i["name"] async for i in db["analysis_jobs"].list_indexes()}
        assert {"by_meeting", "by_requester"} <= names
        await db.client.drop_database(db.name)


async def test_no_server_is_unavailable_not_a_driver_error():
    with pytest.raises(Unavailable):
        async with open_database("mongodb://127.0.0.1:1/?directConnection=true", "x", timeout_s=0.3):
            pass
