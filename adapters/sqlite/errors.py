"""Turns sqlite3 failures into domain errors, so no driver exception crosses a port."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Callable, Iterator, Mapping

from domain.shared.errors import AlreadyExists, DomainError, Unavailable

log = logging.getLogger(__name__)


@contextlib.contextmanager
def translated(unique: Mapping[str, Callable[[], DomainError]] | None = None) -> Iterator[None]:
    """Unique violations map by the index or ``table.column`` SQLite names in its message (unknown
    names -> AlreadyExists); a locked, full, unreadable or closed database -> Unavailable."""
    try:
        yield
    except sqlite3.IntegrityError as exc:
        message = str(exc)
        for name, make in (unique or {}).items():
            if name in message:
                raise make() from exc
        raise AlreadyExists("already exists") from exc
    except sqlite3.OperationalError as exc:  # locked, disk full, I/O error, cannot open
        raise Unavailable("the database is unavailable", reason=str(exc)) from exc
    except (sqlite3.DatabaseError, sqlite3.InterfaceError) as exc:
        log.exception("unexpected database error")
        raise Unavailable("the database failed", reason=type(exc).__name__) from exc
    except ValueError as exc:
        # aiosqlite raises ValueError("no active connection") once the database was closed.
        if "connection" not in str(exc):
            raise
        raise Unavailable("the database is closed") from exc
