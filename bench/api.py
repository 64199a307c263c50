"""API benchmark: the all-in-one on PostgreSQL + Redis against a bare aiohttp handler, same run.

Prints requests/s and p50/p99 latency per scenario and the ratio to the baseline.  Needs
TEST_POSTGRES_DSN and TEST_REDIS_URL (``make bench`` sets them).  Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import time
import uuid
from pathlib import Path

import aiohttp
import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.support.process import allinone, free_port  # noqa: E402


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def load(name: str, workers: int, seconds: float, step) -> dict:  # type: ignore[no-untyped-def]
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds

    async def worker(i: int) -> None:
        nonlocal errors
        while time.monotonic() < deadline:
            t = time.perf_counter()
            ok = await step(i)
            latencies.append((time.perf_counter() - t) * 1000)
            errors += 0 if ok else 1

    started = time.monotonic()
    await asyncio.gather(*(worker(i) for i in range(workers)))
    elapsed = time.monotonic() - started
    return {"name": name, "rps": len(latencies) / elapsed, "p50": pct(latencies, 50), "p99": pct(latencies, 99),
            "n": len(latencies), "errors": errors}


async def run(args: argparse.Namespace) -> None:
    pg_dsn, redis_url = os.environ["TEST_POSTGRES_DSN"], os.environ["TEST_REDIS_URL"]
    db = f"confero_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(pg_dsn)
    await admin.execute(f'CREATE DATABASE "{db}"')
    port = free_port()
    hello = subprocess.Popen([sys.executable, str(ROOT / "bench" / "hello.py"), str(port)])
    log = Path(args.log)
    env = {"APP_ADAPTERS": "production", "APP_JWT_SECRET": secrets.token_urlsafe(40), "APP_LOG_LEVEL": "WARNING",
           "APP_POSTGRES_DSN": pg_dsn.rsplit("/", 1)[0] + "/" + db, "APP_REDIS_URL": redis_url}
    results = []
    try:
        with allinone(env, log) as base:
            conn = aiohttp.TCPConnector(limit=args.workers * 2)
            async with aiohttp.ClientSession(base_url=base, connector=conn) as s:
                tokens = []
                for i in range(args.workers):
                    u = {"username": f"bench{i}", "email": f"bench{i}@example.com", "password": "bench password"}
                    await s.post("/api/v1/auth/register", json=u)
                    r = await s.post("/api/v1/auth/login", json={"username": u["username"], "password": u["password"]})
                    tokens.append({"Authorization": f"Bearer {(await r.json())['access_token']}"})
                r = await s.post("/api/v1/meetings", json={"title": "bench", "capacity": 1000}, headers=tokens[0])
                mid = (await r.json())["id"]

                async def hello_step(i: int) -> bool:
                    async with s.get(f"http://127.0.0.1:{port}/hello") as r:
                        await r.read()
                        return r.status == 200

                async def create_step(i: int) -> bool:
                    async with s.post("/api/v1/meetings", json={"title": "bench meeting"}, headers=tokens[i]) as r:
                        await r.read()
                        return r.status == 201

                async def get_step(i: int) -> bool:
                    async with s.get(f"/api/v1/meetings/{mid}", headers=tokens[i]) as r:
                        await r.read()
                        return r.status == 200

                async def join_leave_step(i: int) -> bool:
                    async with s.post(f"/api/v1/meetings/{mid}/join", headers=tokens[i]) as r:
                        await r.read()
                        ok = r.status == 200
                    async with s.post(f"/api/v1/meetings/{mid}/leave", headers=tokens[i]) as r:
                        await r.read()
                        return ok and r.status == 200

                for _ in range(50):  # warm up both servers and their pools
                    await hello_step(0)
                    await get_step(0)
                results.append(await load("bare aiohttp hello (baseline)", args.workers, args.seconds, hello_step))
                results.append(await load("create meeting", args.workers, args.seconds, create_step))
                results.append(await load("get meeting", args.workers, args.seconds, get_step))
                results.append(await load("join + leave", args.workers, args.seconds, join_leave_step))
    finally:
        hello.terminate()
        hello.wait()
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()
    base_rps = results[0]["rps"]
    print(f"\nconcurrency {args.workers}, {args.seconds:.0f} s per scenario, client and servers on one "
          f"{os.cpu_count()}-core machine")
    print(f"{'scenario':32} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'vs baseline':>12}")
    for r in results:
        print(f"{r['name']:32} {r['rps']:9.0f} {r['p50']:8.2f} {r['p99']:8.2f} {r['errors']:7d} "
              f"{r['rps'] / base_rps:11.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--log", default="/tmp/confero-bench.log")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
