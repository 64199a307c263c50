"""API benchmark: the all-in-one on PostgreSQL + Redis against its physical limit, same run.

The limit (bench/limit.py) is a bare aiohttp handler doing only the unavoidable work of each request:
verify the JWT, one session lookup in Redis, and the SQL the use case cannot avoid (create: one
transaction with the meeting row and its outbox row; get: one SELECT by key).  Prints requests/s,
p50/p99 latency and errors per scenario, and the ratio to its baseline.  ``--root`` runs another
checkout's application (to measure "before" with the same client and baseline).  Needs
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
import tests.support.process as app_process  # noqa: E402
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
    port, limit_port = free_port(), free_port()
    hello = subprocess.Popen([sys.executable, str(ROOT / "bench" / "hello.py"), str(port)])
    log = Path(args.log)
    secret = secrets.token_urlsafe(40)
    bench_dsn = pg_dsn.rsplit("/", 1)[0] + "/" + db
    env = {"APP_ADAPTERS": "production", "APP_JWT_SECRET": secret, "APP_LOG_LEVEL": "WARNING",
           "APP_POSTGRES_DSN": bench_dsn, "APP_REDIS_URL": redis_url}
    limit = subprocess.Popen([sys.executable, str(ROOT / "bench" / "limit.py"), str(limit_port), bench_dsn, redis_url,
                              secret])
    app_process.ROOT = Path(args.root)
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

                limit_url = f"http://127.0.0.1:{limit_port}"
                r = await s.post(f"{limit_url}/meetings", json={"title": "bench"}, headers=tokens[0])
                limit_mid = (await r.json())["id"]

                async def limit_create_step(i: int) -> bool:
                    async with s.post(f"{limit_url}/meetings", json={"title": "bench meeting"}, headers=tokens[i]) as r:
                        await r.read()
                        return r.status == 201

                async def limit_get_step(i: int) -> bool:
                    async with s.get(f"{limit_url}/meetings/{limit_mid}", headers=tokens[i]) as r:
                        await r.read()
                        return r.status == 200

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

                for _ in range(50):  # warm up the servers and their pools
                    await hello_step(0)
                    await get_step(0)
                    await limit_get_step(0)
                hello_r = await load("bare aiohttp hello", args.workers, args.seconds, hello_step)
                results.append((hello_r, None))
                for name, step, limit_step in (("create meeting", create_step, limit_create_step),
                                               ("get meeting", get_step, limit_get_step)):
                    base_r = await load(f"  limit: {name}", args.workers, args.seconds, limit_step)
                    results.append((base_r, None))
                    results.append((await load(name, args.workers, args.seconds, step), base_r))
                results.append((await load("join + leave (pairs)", args.workers, args.seconds, join_leave_step), None))
    finally:
        for server in (hello, limit):
            server.terminate()
            server.wait()
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()
    print(f"\napplication from {args.root}; concurrency {args.workers}, {args.seconds:.0f} s per scenario, "
          f"client and servers on one {os.cpu_count()}-core machine")
    print(f"{'scenario':32} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'vs limit':>9}")
    for r, base_r in results:
        ratio = f"{r['rps'] / base_r['rps']:8.2f}x" if base_r else ""
        print(f"{r['name']:32} {r['rps']:9.0f} {r['p50']:8.2f} {r['p99']:8.2f} {r['errors']:7d} {ratio:>9}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--log", default="/tmp/confero-bench.log")
    parser.add_argument("--root", default=str(ROOT), help="the checkout whose application is measured")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
