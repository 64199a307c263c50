from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from domain.shared.limits import AttemptLimit


class AttemptLimiter(Protocol):
    """Counts attempts per key in a sliding window, reserving each attempt before it is made.

    Reserve first, then do the slow thing (verify a password): under any concurrency, at most
    ``limit`` attempts per key are let through within a window, however many callers race.

    - ``reserve(limits, now)`` is atomic across all the keys given: when every key has fewer than its
      ``limit`` attempts in the ``window`` ending at ``now`` (attempts at or before ``now - window``
      no longer count), it records one attempt under each key and returns the attempt's id;
      otherwise it records nothing and raises AttemptsExhausted whose ``retry_after`` is the whole
      number of seconds (rounded up, at least 1) until every key has room again.  No limits: an id,
      nothing recorded.
    - ``release(keys, attempt_id)`` takes a reserved attempt back from those keys (it turned out not
      to count, e.g. the password was right).  Idempotent; unknown keys and ids are harmless.
    Storage per key is bounded by its limit and expires with its window.  Any method may raise
    Unavailable.
    """

    async def reserve(self, limits: Sequence[AttemptLimit], now: dt.datetime) -> str: ...
    async def release(self, keys: Sequence[str], attempt_id: str) -> None: ...
