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


@contextlib.contextmanager
def translated(unique: Mapping[str, Callable[[], DomainError]] | None = None) -> Iterator[None]:
    """Maps unique violations by constraint name (unknown names -> AlreadyExists), unstorable text ->
    InvalidArgument, unreachable database -> Unavailable, and anything else from the driver ->
    Unavailable after logging it, since the caller cannot fix it (a missing migration, a bug in our SQL)."""
    try:
        yield
    except pg.UniqueViolationError as exc:
        make = (unique or {}).get(exc.constraint_name or "")
        raise (make() if make else AlreadyExists("already exists")) from exc
    except (pg.CharacterNotInRepertoireError, pg.UntranslatableCharacterError) as exc:
        # Text PostgreSQL cannot store (a NUL character): the caller's input, not the database, is at fault.
        raise InvalidArgument("text contains a character that cannot be stored") from exc
    except UNREACHABLE as exc:
        raise Unavailable("the database is unavailable", reason=type(exc).__name__) from exc
    except (pg.PostgresError, pg.InternalClientError) as exc:
        log.exception("unexpected database error")
        raise Unavailable("the database failed", reason=type(exc).__name__) from exc
