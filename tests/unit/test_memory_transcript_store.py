import pytest

from adapters.memory.captions import InMemoryTranscriptStore
from confero_contracts import TranscriptStoreContract


class TestInMemoryTranscriptStore(TranscriptStoreContract):
    @pytest.fixture
    async def store(self):
        return InMemoryTranscriptStore()
