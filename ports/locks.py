from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol


class KeyedLocks(Protocol):
    """Mutual exclusion per key (an aggregate id) among the callers that share this object.

    Used to serialise read-modify-write cycles on a hot aggregate inside one process, so that optimistic
    concurrency only has to resolve conflicts between processes.  It is an optimisation, never the
    guarantee: correctness still comes from the repository's version check.  Must not raise.
    """

    def hold(self, key: str) -> AbstractAsyncContextManager[None]: ...
