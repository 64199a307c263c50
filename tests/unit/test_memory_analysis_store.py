import pytest

from adapters.memory.analysis import InMemoryAnalysisStore
from confero_contracts import AnalysisStoreContract


class TestInMemoryAnalysisStore(AnalysisStoreContract):
    @pytest.fixture
    async def store(self):
        return InMemoryAnalysisStore()
