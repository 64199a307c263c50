"""Instants as integer microseconds since the epoch (UTC): exact, and they sort as numbers."""

from __future__ import annotations

import datetime as dt

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def to_us(at: dt.datetime) -> int:
    return (at - EPOCH) // dt.timedelta(microseconds=1)


def from_us(us: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=us)


def to_us_or_none(at: dt.datetime | None) -> int | None:
    return None if at is None else to_us(at)


def from_us_or_none(us: int | None) -> dt.datetime | None:
    return None if us is None else from_us(us)
