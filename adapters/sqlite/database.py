"""One SQLite file as an async context manager (a DI Resource): connection, schema and serialisation.

SQLite has one writer at a time, and a transaction belongs to the connection, not to a coroutine: two
coroutines sharing the connection would share each other's transactions.  So every use takes one
asyncio lock, which makes each ``transaction()`` atomic and isolated for this process.  One process
per file (the embedded all-in-one): the file is locked exclusively while open, and a second process
waits for it (``busy_timeout``), then fails with Unavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.resources
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping

import aiosqlite

from adapters.sqlite.errors import translated
from domain.shared.errors import DomainError, Unavailable

BUSY_TIMEOUT_MS = 5000


class SqliteDatabase:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self.relay_busy = False  # an outbox batch is open (adapters/sqlite/outbox.py)

    @contextlib.asynccontextmanager
    async def connection(self, unique: Mapping[str, Callable[[], DomainError]] | None = None,
                         ) -> AsyncIterator[aiosqlite.Connection]:
        """The connection to itself: each statement commits on its own (single-statement atomicity)."""
        async with self._lock:
            with translated(unique):
                yield self._conn

    @contextlib.asynccontextmanager
    async def transaction(self, unique: Mapping[str, Callable[[], DomainError]] | None = None,
                          ) -> AsyncIterator[aiosqlite.Connection]:
        """Statements in one transaction: committed when the block ends, rolled back when it raises."""
        async with self._lock:
            with translated(unique):
                await self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                except BaseException:
                    with contextlib.suppress(Exception):  # a broken connection has nothing to roll back
                        await self._conn.execute("ROLLBACK")
                    raise
                await self._conn.execute("COMMIT")


def migrations() -> list[tuple[int, str]]:
    """(number, SQL) of every file in migrations/, in order; the number is the file name's prefix."""
    folder = importlib.resources.files("adapters.sqlite") / "migrations"
    found = [(int(f.name.split("_", 1)[0]), f.read_text()) for f in folder.iterdir() if f.name.endswith(".sql")]
    return sorted(found)


async def migrate(conn: aiosqlite.Connection) -> list[int]:
    """Applies the migrations newer than ``PRAGMA user_version``, each in its own transaction."""
    async with conn.execute("PRAGMA user_version") as cur:
        (current,) = await cur.fetchone()  # type: ignore[misc]
    applied = []
    for number, sql in migrations():
        if number > current:
            try:
                await conn.executescript(f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {number};\nCOMMIT;")
            except BaseException:
                with contextlib.suppress(Exception):
                    await conn.execute("ROLLBACK")
                raise
            applied.append(number)
    return applied


async def _exclusive(conn: aiosqlite.Connection, sql: str) -> None:
    try:
        await conn.execute(sql)
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc):
            raise Unavailable("the database file is in use by another process") from exc
        raise


@contextlib.asynccontextmanager
async def open_database(path: str, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> AsyncIterator[SqliteDatabase]:
    """Opens (creating it if needed) and migrates the database file; raises Unavailable when it cannot."""
    folder = os.path.dirname(os.path.abspath(path))
    if path != ":memory:" and not os.path.isdir(folder):
        # Checked here because aiosqlite leaves its worker thread behind when the connect itself fails.
        raise Unavailable("the database folder does not exist", folder=folder)
    with translated():
        conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        with translated():
            # The file is this process's alone: the lock taken by the first write below is kept until
            # the connection closes, so a second process (a second all-in-one started on the same
            # file) waits busy_timeout and then stops, instead of sharing accounts but not rooms.
            for pragma in (f"busy_timeout = {busy_timeout_ms}", "locking_mode = EXCLUSIVE", "journal_mode = WAL",
                           "synchronous = NORMAL", "foreign_keys = ON"):
                await _exclusive(conn, f"PRAGMA {pragma}")
            await _exclusive(conn, "BEGIN IMMEDIATE")
            await conn.execute("COMMIT")
            # Python's lower(), for searches only: SQLite's own lower() folds ASCII letters alone.
            await conn.create_function("py_lower", 1, str.lower, deterministic=True)
            await migrate(conn)
        yield SqliteDatabase(conn)
    finally:
        await conn.close()
