"""The readiness registry other streams plug their checks into, and the /metrics listener."""

from __future__ import annotations

import asyncio

import aiohttp

from runners.observability.http_metrics import start_metrics_listener
from runners.observability.registry import Observability
from tests.support.process import free_port


async def test_readiness_reports_each_dependency_and_is_down_when_one_fails_or_hangs() -> None:
    obs = Observability()

    async def fine() -> None:
        return None

    async def broken() -> None:
        raise ConnectionRefusedError("redis://:hunter2@10.0.0.1:6379")

    async def hanging() -> None:
        await asyncio.Event().wait()

    obs.add_check("postgresql", fine)
    assert (await obs.readiness())[0] is True
    obs.add_check("redis", broken)
    obs.add_check("etcd", hanging)
    ok, report = await obs.readiness(timeout=0.05)
    assert ok is False
    assert {n: c["status"] for n, c in report.items()} == {"postgresql": "up", "redis": "down", "etcd": "down"}
    assert report["redis"]["error"] == "ConnectionRefusedError"  # the type, never the message with a URL
    assert "hunter2" not in str(report)


async def test_a_failing_scrape_hook_leaves_the_others_running() -> None:
    obs = Observability()
    ran = []

    async def bad() -> None:
        raise RuntimeError("boom")

    async def good() -> None:
        ran.append(True)

    obs.on_scrape(bad)
    obs.on_scrape(good)
    await obs.refresh()
    assert ran == [True]


async def test_the_metrics_listener_serves_prometheus_text_and_a_taken_port_does_not_stop_the_process() -> None:
    port = free_port()
    refreshed = []

    async def refresh() -> None:
        refreshed.append(True)

    runner = await start_metrics_listener("127.0.0.1", port, refresh)
    assert runner is not None
    try:
        async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{port}/metrics") as r:
            body = await r.text()
            assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
        assert "confero_http_requests_in_flight" in body and refreshed == [True]
        assert await start_metrics_listener("127.0.0.1", port, refresh) is None
    finally:
        await runner.cleanup()
