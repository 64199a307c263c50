"""Every HTTP flow of tests/unit/test_web_flows.py again, on the SQLite family (APP_SQLITE_PATH): the
same answers whichever family stores the users, sessions, meetings and outbox."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest

from runners.serve import composed
from runners.web.app import create_app
from tests.unit.test_web_flows import *  # noqa: F403  (the flows, collected here too)
from tests.unit.web_support import WebApi, WebFactory, web, web_settings, with_mailbox  # noqa: F401  (fixtures)


@pytest.fixture
async def web_factory(aiohttp_client: Any, tmp_path: Any) -> AsyncIterator[WebFactory]:
    """Like tests/unit/web_support.py's, each application on a fresh SQLite file."""
    files = (tmp_path / f"web-{n}.sqlite3" for n in itertools.count())
    async with contextlib.AsyncExitStack() as stack:
        async def make(**env: str) -> WebApi:
            settings = web_settings(APP_SQLITE_PATH=str(next(files)), **env)
            container, services = await stack.enter_async_context(composed(settings))
            assert type(await container.adapters.database()).__name__ == "SqliteDatabase"
            app = create_app(services, settings)
            return await with_mailbox(WebApi(await aiohttp_client(app), app, settings, services), container)

        yield make
