"""A real Prometheus scrapes the all-in-one during a scripted meeting with media; the DEBUG logs of that
session hold no password, token, ICE password or JWT secret.

Everything runs in a private network namespace (tests/support/netns.py): pytest starts ``python -m
tests.integration.test_observability_session scenario`` under ``unshare -n``; the scenario starts
``python -m runners.allinone`` (embedded adapters, APP_LOG_LEVEL=DEBUG into a file), Debian's
``prometheus`` scraping its metrics port every second, and two aiortc members from
tests/integration/test_sfu_meeting.py that publish audio and video through the SFU.  It answers with
PromQL results and the secrets it found in the log.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from tests.support.netns import emit_result, require_unshare, run_module

MODULE = "tests.integration.test_observability_session"
JWT_SECRET = "observability-test-secret-0123456789abcdefghij"
WRONG_PASSWORD = "wrong horse battery staple"
MEETING_PASSWORD = "meeting pass 4242"
APP_PORT, METRICS_PORT, PROMETHEUS_PORT = 18800, 19800, 19090

PROMETHEUS_CONFIG = """
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: confero
    static_configs: [{targets: ["127.0.0.1:%d"]}]
"""
QUERIES = {
    "request_rate": "sum(rate(confero_http_requests_total[30s]))",
    "latency_p95": "histogram_quantile(0.95, sum by (le) (rate(confero_http_request_duration_seconds_bucket[30s])))",
    "sfu_streams": "sum(confero_sfu_forwarded_streams)",
    "sfu_video_bitrate": 'sum(confero_sfu_bitrate_bits_per_second{kind="video",direction="outbound"})',
    "signaling_sockets": "confero_signaling_sockets",
}


def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        pytest.fail("Debian's prometheus is not installed: run `make test` (its system-deps step installs it)")
    return found


# --- inside the namespace --------------------------------------------------------------------------

class _App:
    base = f"http://127.0.0.1:{APP_PORT}"


async def _query(session: Any, promql: str) -> float | None:
    url = f"http://127.0.0.1:{PROMETHEUS_PORT}/api/v1/query?query={urllib.parse.quote(promql)}"
    async with session.get(url) as r:
        body = await r.json()
    result = body["data"]["result"]
    return float(result[0]["value"][1]) if result else None


async def _until(session: Any, promql: str, ok: Any, timeout: float = 30) -> float | None:
    """Polls the query until ``ok(value)`` (Prometheus scrapes every second), returns the last value."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = await _query(session, promql)
        if value is not None and ok(value):
            return value
        await asyncio.sleep(0.5)
    return value


async def _bad_logins(session: Any) -> None:
    for who in ("ann", "nobody"):
        async with session.post(f"{_App.base}/api/v1/auth/login",
                                json={"username": who, "password": WRONG_PASSWORD}) as r:
            assert r.status == 401, await r.text()


async def scenario() -> dict[str, Any]:
    import aiohttp
    from aiortc import AudioStreamTrack

    from tests.integration.test_sfu_meeting import PASSWORD, Member, ToneTrack
    from tests.support.webrtc_rig import MarkedVideoTrack

    work = Path(tempfile.mkdtemp(prefix="confero-obs-"))
    (work / "prometheus.yml").write_text(PROMETHEUS_CONFIG % METRICS_PORT)
    log_path = work / "app.log"
    env = {**os.environ, "APP_PORT": str(APP_PORT), "APP_METRICS_PORT": str(METRICS_PORT),
           "APP_LOG_LEVEL": "DEBUG", "APP_LOG_FORMAT": "json", "APP_JWT_SECRET": JWT_SECRET,
           "APP_FAST_PASSWORD_HASHING": "true", "APP_MEDIA_HOST_ADDRESSES": "127.0.0.1"}
    with open(log_path, "wb") as log:
        app = subprocess.Popen([sys.executable, "-m", "runners.allinone"], env=env, stdout=log, stderr=log)
    prom = subprocess.Popen([prometheus_binary(), f"--config.file={work / 'prometheus.yml'}",
                             f"--storage.tsdb.path={work / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}"],
                            stdout=subprocess.DEVNULL, stderr=open(work / "prometheus.log", "wb"))
    result: dict[str, Any] = {}
    secrets: dict[str, str] = {"user password": PASSWORD, "wrong password": WRONG_PASSWORD,
                               "meeting password": MEETING_PASSWORD, "APP_JWT_SECRET": JWT_SECRET}
    try:
        async with aiohttp.ClientSession() as session:
            await _wait_http(session, f"{_App.base}/health")
            await _wait_http(session, f"http://127.0.0.1:{PROMETHEUS_PORT}/-/ready")
            ann, bob = members = [Member(n, _App, session) for n in ("ann", "bob")]
            for m in members:
                await m.sign_up()
            await _bad_logins(session)
            status, meeting = await ann.http("POST", "/api/v1/meetings",
                                             json={"title": "Metrics", "password": MEETING_PASSWORD})
            assert status == 201, meeting
            status, _ = await bob.http("POST", f"/api/v1/meetings/{meeting['id']}/join",
                                       json={"password": MEETING_PASSWORD})
            assert status == 200
            for m in members:
                await m.connect()
                await m.join(meeting["id"])
            # Requests go on while Prometheus watches, so rate() sees the counters grow between scrapes.
            traffic = asyncio.ensure_future(_keep_asking(ann, meeting["id"]))
            await ann.publish(MarkedVideoTrack(15), ToneTrack.make())
            await bob.publish(MarkedVideoTrack(15), AudioStreamTrack())
            await ann.receiving(bob)
            await bob.receiving(ann)
            for name, promql in QUERIES.items():
                want = (lambda v: v >= 4) if name == "sfu_streams" else (lambda v: v > 0 and not math.isnan(v))
                result[name] = await _until(session, promql, want)
            result["http_routes"] = await _label_values(session, "confero_http_requests_total", "route")
            traffic.cancel()
            for m in members:
                secrets[f"{m.name} access token"] = m.token
                for what, sdp in m.sdps:
                    for pwd in re.findall(r"^a=ice-pwd:(\S+)", sdp, re.M):
                        secrets[f"ice-pwd ({m.name} {what})"] = pwd
                await m.close()
    finally:
        for proc in (app, prom):
            proc.terminate()
            proc.wait(timeout=20)
    text = log_path.read_text(errors="replace")
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    result["log_lines"] = len(lines)
    result["debug_lines"] = sum(1 for line in lines if line.get("level") == "DEBUG")
    result["non_json_lines"] = [line for line in text.splitlines() if line and not line.startswith("{")][:5]
    result["services"] = sorted({line.get("service") for line in lines})
    result["secrets_checked"] = sorted(secrets)
    result["leaked"] = sorted(name for name, value in secrets.items() if value in text)
    result["ice_pwds"] = sum(1 for name in secrets if name.startswith("ice-pwd"))
    shutil.rmtree(work, ignore_errors=True)
    return result


async def _keep_asking(member: Any, meeting_id: str) -> None:
    while True:
        status, _ = await member.http("GET", "/api/v1/media/stats", params={"room_id": meeting_id})
        assert status == 200
        await asyncio.sleep(0.1)


async def _label_values(session: Any, metric: str, label: str) -> list[str]:
    async with session.get(f"http://127.0.0.1:{PROMETHEUS_PORT}/api/v1/label/{label}/values",
                           params={"match[]": metric}) as r:
        return sorted((await r.json())["data"])


async def _wait_http(session: Any, url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            async with session.get(url) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not come up")
        await asyncio.sleep(0.2)


# --- the test --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def session_result() -> dict[str, Any]:
    require_unshare()
    prometheus_binary()
    result, _ = run_module(MODULE, "scenario", timeout=240)
    return result


def test_prometheus_answers_request_rate_latency_quantile_and_sfu_stream_count(session_result) -> None:
    r = session_result
    assert r["request_rate"] > 0
    assert 0 < r["latency_p95"] < 10
    assert r["sfu_streams"] == 4  # ann receives bob's audio and video, bob receives ann's
    assert r["sfu_video_bitrate"] > 0
    assert r["signaling_sockets"] == 2


def test_http_metrics_are_labelled_by_route_template_never_by_raw_path(session_result) -> None:
    routes = session_result["http_routes"]
    assert {"/api/v1/meetings/{id}/join", "/api/v1/media/stats", "/api/v1/auth/login"} <= set(routes)
    assert not any(re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", route) for route in routes), routes


def test_the_debug_logs_of_the_session_hold_no_secret(session_result) -> None:
    r = session_result
    assert r["debug_lines"] > 0 and r["non_json_lines"] == []
    assert r["ice_pwds"] >= 4  # each member's offers and answers, and the SFU's
    assert r["leaked"] == [], f"found in the logs: {r['leaked']}"
    assert r["services"] == ["confero-allinone"]


if __name__ == "__main__":
    if sys.argv[1:] == ["scenario"]:
        from tests.support.netns import allow_loopback_candidates

        allow_loopback_candidates()
        emit_result(asyncio.run(scenario()))
