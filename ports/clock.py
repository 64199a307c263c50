from __future__ import annotations

import datetime as dt
from typing import Protocol


class Clock(Protocol):
    """The current time, aware and in UTC.  Injected so that expiry is testable."""

    def now(self) -> dt.datetime: ...
