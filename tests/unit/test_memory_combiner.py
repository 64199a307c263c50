from __future__ import annotations

import pytest

from adapters.memory.combiner import InProcessCombiner
from confero_contracts.combining import KeyedCombinerContract


class TestInProcessCombiner(KeyedCombinerContract):
    @pytest.fixture
    async def combiner(self):
        return InProcessCombiner()
