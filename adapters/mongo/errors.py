from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pymongo import errors as mongo_errors

from domain.shared.errors import Unavailable


@contextmanager
def translated() -> Iterator[None]:
    """No driver exception crosses a port: every failure of the server or the connection is Unavailable."""
    try:
        yield
    except mongo_errors.PyMongoError as exc:
        raise Unavailable(f"MongoDB: {type(exc).__name__}", backend="mongodb") from exc
