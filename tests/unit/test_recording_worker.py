"""The recording worker keeps the leases: recovery at start, heartbeats, recovery again each lease
period, and a failing round does not end the loop."""

from __future__ import annotations

import asyncio
import datetime as dt

from aiohttp import web

from runners.recording import recording_worker


class _Service:
    lease = dt.timedelta(seconds=0.004)

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.enough = asyncio.Event()

    async def recover_unfinished(self) -> list[object]:
        self.calls.append("recover")
        return []

    async def heartbeat(self) -> list[object]:
        self.calls.append("beat")
        if self.calls.count("beat") == 2:
            raise RuntimeError("the database went away for a moment")
        if self.calls.count("beat") >= 6:
            self.enough.set()
        return []

    async def drain(self) -> None:
        return None


async def test_the_worker_renews_and_recovers_until_shutdown():
    service = _Service()
    ctx = recording_worker(service, recover=True, timeout=1, heartbeat=0.001)(web.Application())
    await ctx.__anext__()
    await asyncio.wait_for(service.enough.wait(), 10)
    await anext(ctx, None)
    # Recovery again every lease / heartbeat = 4 rounds; the second heartbeat's error did not stop it.
    assert service.calls[:6] == ["recover", "beat", "beat", "beat", "beat", "recover"]
    count = len(service.calls)
    await asyncio.sleep(0.01)
    assert len(service.calls) == count  # stopped at shutdown


async def test_without_a_recorder_nothing_runs():
    service = _Service()
    ctx = recording_worker(service, recover=False, timeout=1, heartbeat=0.001)(web.Application())
    await ctx.__anext__()
    await asyncio.sleep(0.005)
    await anext(ctx, None)
    assert service.calls == []
