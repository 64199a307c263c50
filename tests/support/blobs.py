"""A blob store that a test can take down: delegates to a real adapter, and while ``down`` every write
raises Unavailable (as the S3 adapter does when the server cannot be reached)."""

from __future__ import annotations

from typing import Any

from domain.shared.errors import Unavailable
from ports.blobs import BlobStore

WRITES = frozenset({"put", "start_upload", "upload_part", "complete_upload"})


class FlakyBlobs:
    def __init__(self, inner: BlobStore) -> None:
        self.inner = inner
        self.down = False
        self.refused = 0

    @property
    def min_part_size(self) -> int:
        return self.inner.min_part_size

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)
        if name not in WRITES:
            return method

        async def guarded(*args: Any, **kwargs: Any) -> Any:
            if self.down:
                self.refused += 1
                raise Unavailable("blob store unreachable (test)")
            return await method(*args, **kwargs)

        return guarded
