"""The document stores (analysis results, meeting transcripts): MongoDB when APP_MONGO_URL is set, else
this process's memory (the all-in-one and the SQLite family)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from runners.settings import AdapterFamily, Settings

log = logging.getLogger("runners.mongo")


async def document_store(stack: contextlib.AsyncExitStack, settings: Settings, *, mongo: Callable[[Any], Any],
                         memory: Callable[[], Any], holds: str) -> Any:
    """``mongo(db)`` on its own database handle (indexes created; closed with ``stack``), or ``memory()``.
    ``mongo`` imports its adapter lazily: a process without MongoDB never loads the driver."""
    if settings.mongo_url:
        from adapters.mongo.client import open_database

        db = await stack.enter_async_context(open_database(settings.mongo_url, settings.mongo_database))
        store = mongo(db)
        await store.create_indexes()
        return store
    if settings.adapters is AdapterFamily.PRODUCTION:
        log.warning("APP_MONGO_URL is not set: %s live in this process's memory only", holds)
    return memory()
