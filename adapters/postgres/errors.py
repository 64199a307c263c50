"""Turns asyncpg failures into domain errors, so no driver exception crosses a port."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping

import asyncpg
from asyncpg import exceptions as pg

from domain.shared.errors import AlreadyExists, DomainError, InvalidArgument, Unavailable

log = logging.getLogger(__name__)

# The database could not be reached or could not serve us right now: a retry later may succeed.
# TimeoutError covers command_timeout and pool acquire timeouts; OSError covers refused connections.
UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    pg.PostgresConnectionError,
    pg.OperatorInterventionError,  # CannotConnectNow (starting up), AdminShutdown, QueryCanceled
    pg.InsufficientResourcesError,  # TooManyConnections, disk full, out of memory
    asyncpg.InterfaceError,  # connection closed under us, pool closing
)


# SQLSTATE class 22 (pg.DataError, which asyncpg also raises when it cannot encode an argument, e.g. a
# lone surrogate), the class 23 constraints that only bad values break, and class 54 (a value too large).  Unique violations are mapped
# first; foreign-key violations stay "unexpected" (our own ids, so a bug or a race worth a traceback).
DATA_ERRORS: tuple[type[pg.PostgresError], ...] = (
    pg.DataError,
    pg.CheckViolationError,
    pg.NotNullViolationError,
    pg.ProgramLimitExceededError,  # class 54: a value too big to index, a NUL produced by a function
)


@contextlib.contextmanager
def translated(unique: Mapping[str, Callable[[], DomainError]] | None = None) -> Iterator[None]:
    """Maps unique violations by constraint name (unknown names -> AlreadyExists); the caller's data
    (every SQLSTATE of class 22 "data exception", asyncpg's own refusal to encode an argument, and the
    check / not-null constraints of class 23) -> InvalidArgument, logged at INFO without the value;
    unreachable database -> Unavailable; anything else from the driver -> Unavailable after logging it,
    since the caller cannot fix it (a missing migration, a bug in our SQL)."""
    try:
        yield
    except pg.UniqueViolationError as exc:
        make = (unique or {}).get(exc.constraint_name or "")
        raise (make() if make else AlreadyExists("already exists")) from exc
    except DATA_ERRORS as exc:
        # Text PostgreSQL cannot store (a NUL, a lone surrogate), a number out of range: the caller's input,
        # not the database, is at fault.  No alert, no traceback, and the value stays out of the log.
        log.info("refused data", extra={"sqlstate": exc.sqlstate, "error": type(exc).__name__})
        raise InvalidArgument("a value cannot be stored (invalid text or out of range)") from exc
    except UNREACHABLE as exc:
        raise Unavailable("the database is unavailable", reason=type(exc).__name__) from exc
    except (pg.PostgresError, pg.InternalClientError) as exc:
        log.exception("unexpected database error")
        raise Unavailable("the database failed", reason=type(exc).__name__) from exc
