"""This process's CPU use as a fraction of its host, between two readings (a media node's load)."""

from __future__ import annotations

import os
import time


class ProcessCpu:
    """``fraction()``: CPU seconds (user + system) this process used since the previous call, over the
    wall time since then and the host's cores, in [0, 1] (0.0 at the first call)."""

    def __init__(self, cores: int | None = None) -> None:
        self.cores = max(1, cores or os.cpu_count() or 1)
        self._last: tuple[float, float] | None = None

    def fraction(self) -> float:
        now = (time.monotonic(), time.process_time())
        last, self._last = self._last, now
        if last is None or now[0] <= last[0]:
            return 0.0
        return min(1.0, max(0.0, (now[1] - last[1]) / (now[0] - last[0]) / self.cores))
