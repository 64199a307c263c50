"""Gateway benchmark: GET /api/v1/meetings/{id} on the all-in-one directly and through
``python -m runners.gateway`` in front of it, same run, rounds alternating between the two.

Prints requests/s, p50/p99 latency and errors of each, and the ratio gateway/direct (goal: >= 0.6).
Both processes run on this machine with memory adapters (the cheapest upstream, so the gateway's own cost
weighs most); the gateway finds the all-in-one through APP_GATEWAY_UPSTREAMS and its rate limits are off.
Only 127.0.0.1 is contacted.  ``python bench/gateway.py --workers 32 --seconds 5 --rounds 2``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.support.process import process  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0.0


async def load(session: aiohttp.ClientSession, url: str, headers: dict[str, str], workers: int,
               seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal errors
        while time.monotonic() < deadline:
            t = time.perf_counter()
            async with session.get(url, headers=headers) as r:
                await r.read()
                errors += r.status != 200
            latencies.append((time.perf_counter() - t) * 1000)

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(workers)))
    elapsed = time.monotonic() - started
    return {"rps": len(latencies) / elapsed, "p50": pct(latencies, 50), "p99": pct(latencies, 99),
            "n": len(latencies), "errors": errors}


async def run(args: argparse.Namespace) -> None:
    secret = secrets.token_urlsafe(40)
    logs = Path(tempfile.mkdtemp(prefix="confero-bench-gateway-"))
    common = {"APP_JWT_SECRET": secret, "APP_METRICS_PORT": "0", "APP_LOG_LEVEL": "WARNING"}
    with contextlib.ExitStack() as stack:
        direct, direct_proc = stack.enter_context(process({**common, "APP_ADAPTERS": "memory", "APP_FAST_PASSWORD_HASHING": "true",
                                                 "APP_HTTP_MAX_CONNECTIONS_PER_ADDRESS": "0"}, logs / "allinone.log"))
        gateway, gateway_proc = stack.enter_context(process(
            {**common, "APP_GATEWAY_UPSTREAMS": f"allinone={direct.removeprefix('http://')}",
             "APP_GATEWAY_RATE_PER_USER": "0", "APP_GATEWAY_RATE_PER_ADDRESS": "0"},
            logs / "gateway.log", module="runners.gateway", port_variable="APP_GATEWAY_PORT"))
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as s:
            user = {"username": "bench", "email": "bench@example.com", "password": "correct horse battery"}
            async with s.post(f"{direct}/api/v1/auth/register", json=user) as r:
                assert r.status == 201, await r.text()
            async with s.post(f"{direct}/api/v1/auth/login", json={"username": "bench", "password": user["password"]}) as r:
                token = (await r.json())["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            async with s.post(f"{direct}/api/v1/meetings", json={"title": "bench"}, headers=headers) as r:
                mid = (await r.json())["id"]
            path = f"/api/v1/meetings/{mid}"
            for base in (direct, gateway):  # warm up both paths (connection pools, first-call costs)
                await load(s, base + path, headers, args.workers, 1.0)
            results: dict[str, list[dict[str, float]]] = {"direct": [], "gateway": []}
            pids = {"all-in-one": direct_proc.pid, "gateway": gateway_proc.pid}
            cpu = {"all-in-one": 0.0, "gateway": 0.0}
            through = 0
            for _ in range(args.rounds):
                for name, base in (("direct", direct), ("gateway", gateway)):
                    before = {k: cpu_seconds(pid) for k, pid in pids.items()} if name == "gateway" else {}
                    results[name].append(await load(s, base + path, headers, args.workers, args.seconds))
                    if name == "gateway":
                        through += int(results[name][-1]["n"])
                        for k, pid in pids.items():
                            cpu[k] += cpu_seconds(pid) - before[k]
    print(f"GET /api/v1/meetings/{{id}}, {args.workers} concurrent clients, {args.rounds} x {args.seconds:g} s each")
    summary = {}
    for name, rounds in results.items():
        n = sum(r["n"] for r in rounds)
        rps = sum(r["rps"] for r in rounds) / len(rounds)
        summary[name] = rps
        print(f"  {name:8s} {rps:8.0f} req/s  p50 {sum(r['p50'] for r in rounds) / len(rounds):6.2f} ms  "
              f"p99 {max(r['p99'] for r in rounds):6.2f} ms  requests {n}  errors {sum(r['errors'] for r in rounds)}")
    ratio = summary["gateway"] / summary["direct"]
    print(f"  ratio gateway/direct: {ratio:.2f} (goal >= 0.60: {'met' if ratio >= 0.6 else 'NOT met'})")
    # What does not depend on how many cores the three processes share: CPU time per request through the gateway.
    per = {k: 1000 * v / max(1, through) for k, v in cpu.items()}
    print(f"  CPU per request through the gateway: gateway {per['gateway']:.2f} ms, all-in-one "
          f"{per['all-in-one']:.2f} ms ({os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
