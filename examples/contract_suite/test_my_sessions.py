"""Run Confero's SessionStore contract against MySessionStore: ``python -m pytest test_my_sessions.py``."""

import pytest_asyncio

from confero_contracts import SessionStoreContract
from my_sessions import MySessionStore


class TestMySessionStore(SessionStoreContract):
    @pytest_asyncio.fixture
    async def store(self):
        yield MySessionStore()
