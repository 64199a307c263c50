from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol


class KeyedCombiner(Protocol):
    """Combines work on one key (an aggregate id) among the callers that share this object.

    ``submit(key, item, flush)`` returns the outcome ``flush`` gave for ``item``.  ``flush`` receives the
    items of one key in submission order and returns one outcome per item, in order; an outcome that is
    an exception is raised to that item's caller instead of returned.  Flushes of one key never overlap;
    items submitted while a flush of their key is running go together into the next one (one load and
    one commit for all of them instead of one each).  Every item is flushed exactly once: when
    ``flush`` raises, every item of that batch raises it; when a caller is cancelled, the flush it was
    running still completes for the others.  An optimisation, never the guarantee: correctness still
    comes from the repositories' version checks.
    """

    async def submit(self, key: str, item: Any, flush: Callable[[Sequence[Any]], Awaitable[Sequence[Any]]]) -> Any: ...
