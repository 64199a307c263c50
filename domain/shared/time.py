from __future__ import annotations

import datetime as dt


def utc(value: dt.datetime) -> dt.datetime:
    """Normalise to an aware UTC datetime truncated to microseconds (what PostgreSQL keeps)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)
