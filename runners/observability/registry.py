"""What the adapters of one process register: readiness checks and hooks run before each scrape.

Other streams plug in here from their composition root: ``services.observability.add_check("s3",
store.ping)``; a check is a coroutine that raises when its dependency is unusable.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from attrs import define, field

log = logging.getLogger(__name__)
Check = Callable[[], Awaitable[Any]]
CHECK_TIMEOUT = 2.0
SCRAPE_TIMEOUT = 5.0


@define
class Observability:
    checks: dict[str, Check] = field(factory=dict)
    scrape_hooks: list[Callable[[], Awaitable[None]]] = field(factory=list)

    def add_check(self, name: str, check: Check) -> None:
        """``name`` is the dependency as operators know it ("postgresql", "redis", "etcd", "triton")."""
        self.checks[name] = check

    def on_scrape(self, hook: Callable[[], Awaitable[None]]) -> None:
        """``hook`` refreshes gauges from state that is read asynchronously (pools, the SFU's stats)."""
        self.scrape_hooks.append(hook)

    async def readiness(self, timeout: float = CHECK_TIMEOUT) -> tuple[bool, dict[str, dict[str, Any]]]:
        """All checks at once, each bounded by ``timeout``: (every one up, a report per dependency)."""
        names = list(self.checks)
        results = await asyncio.gather(*(_timed(self.checks[n], timeout) for n in names))
        report = dict(zip(names, results, strict=True))
        return all(r["status"] == "up" for r in report.values()), report

    async def refresh(self) -> None:
        """Runs the scrape hooks; one that fails or hangs leaves its gauges as they were."""
        results = await asyncio.gather(*(asyncio.wait_for(h(), SCRAPE_TIMEOUT) for h in self.scrape_hooks),
                                       return_exceptions=True)
        for hook, result in zip(self.scrape_hooks, results, strict=True):
            if isinstance(result, BaseException):
                log.warning("a metrics hook failed", extra={"hook": getattr(hook, "__qualname__", repr(hook)),
                                                            "error": type(result).__name__})


async def _timed(check: Check, timeout: float) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check(), timeout)
    except TimeoutError:
        return {"status": "down", "error": f"no answer within {timeout} s", "ms": round(timeout * 1000)}
    except Exception as exc:  # a reason for operators; never a DSN or URL (they may hold passwords)
        return {"status": "down", "error": type(exc).__name__, "ms": _ms(started)}
    return {"status": "up", "ms": _ms(started)}


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
