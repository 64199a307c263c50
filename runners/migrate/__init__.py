"""``python -m runners.migrate``: bring the PostgreSQL schema up to date (APP_POSTGRES_DSN)."""

from __future__ import annotations

import asyncio
import os
import sys

from adapters.postgres.migrate import migrate
from domain.shared.errors import Unavailable


def main() -> int:
    dsn = os.environ.get("APP_POSTGRES_DSN")
    if not dsn:
        print("APP_POSTGRES_DSN is not set", file=sys.stderr)
        return 2
    try:
        applied = asyncio.run(migrate(dsn))
    except Unavailable as exc:
        print(f"cannot migrate: {exc.message} ({exc.details.get('reason', '')})", file=sys.stderr)
        return 1
    for name in applied:
        print(f"applied {name}")
    if not applied:
        print("schema is up to date")
    return 0
