"""A fresh SQLite file per test (in pytest's tmp_path): no server, the real driver and file."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.sqlite.database import SqliteDatabase, open_database


@pytest.fixture
async def sqlite_db(tmp_path) -> AsyncIterator[SqliteDatabase]:
    async with open_database(str(tmp_path / "confero.sqlite3")) as db:
        yield db
