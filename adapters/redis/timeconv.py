"""Instants as integer microseconds: exact in Lua's doubles (< 2**53) and comparable in scripts."""

from __future__ import annotations

import datetime as dt
import math

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def to_us(value: dt.datetime) -> int:
    return (value - EPOCH) // dt.timedelta(microseconds=1)


def from_us(us: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=us)


def ttl_ms(until: dt.datetime, now: dt.datetime) -> int:
    """Milliseconds left, at least 1 so a key is never written without an expiry."""
    return max(1, math.ceil((until - now) / dt.timedelta(milliseconds=1)))
