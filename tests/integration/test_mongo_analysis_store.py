"""The MongoDB analysis store against a MongoDB-wire server, through the one contract suite."""

from __future__ import annotations

import pytest
import pytest_asyncio

from adapters.mongo.analysis import MongoAnalysisStore
from adapters.mongo.client import open_database
from confero_contracts import AnalysisStoreContract
from domain.shared.errors import Unavailable

pytestmark = pytest.mark.integration


class TestMongoAnalysisStore(AnalysisStoreContract):
    @pytest_asyncio.fixture
    async def store(self, mongo_database):
        store = MongoAnalysisStore(mongo_database)
        await store.create_indexes()
        return store


async def test_creating_the_indexes_twice_is_harmless(mongo_database):
    db = mongo_database
    store = MongoAnalysisStore(db)
    await store.create_indexes()
    await store.create_indexes()
    names = {i["name"] async for i in db["analysis_jobs"].list_indexes()}
    assert {"by_meeting", "by_requester"} <= names


async def test_no_server_is_unavailable_not_a_driver_error():
    with pytest.raises(Unavailable):
        async with open_database("mongodb://127.0.0.1:1/?directConnection=true", "x", timeout_s=0.3):
            pass
