"""API benchmark: the all-in-one on PostgreSQL + Redis against its physical limit, same run.

The limit (bench/limit.py) is a bare aiohttp handler doing only the unavoidable work of each request:
verify the JWT, one session lookup in Redis, and the SQL the use case cannot avoid (create: one
transaction with the meeting row and its outbox row; get: one SELECT by key).  Prints requests/s,
p50/p99 latency and errors per scenario, and the ratio to its baseline.  ``--root`` runs another
checkout's application (to measure "before" with the same client and baseline).  ``--observability``
instead runs the same scenarios against two all-in-ones, one with metrics and tracing off and one with
both on (metrics scraped every second, every span exported over OTLP/HTTP to a sink), alternating
between them, and prints the throughput ratio (goal: above 0.95).  Needs
TEST_POSTGRES_DSN and TEST_REDIS_URL (``make bench`` sets them).  Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
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
from tests.support.process import allinone, free_port, process  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux /proc): what a request costs it, whatever share of
    the machine it gets while other work runs."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
           "APP_POSTGRES_DSN": bench_dsn, "APP_REDIS_URL": redis_url,
           # One host creates thousands of meetings here: the per-host cap is for people, not this load.
           "APP_MAX_OPEN_MEETINGS_PER_USER": "1000000"}
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


async def run_observability(args: argparse.Namespace) -> None:
    """Metrics and tracing cost: the same requests against a bare and an observed process, interleaved
    (bare, observed, bare, observed) so that drift on a shared machine hits both alike."""
    pg_dsn, redis_url = os.environ["TEST_POSTGRES_DSN"], os.environ["TEST_REDIS_URL"]
    sink_port, metrics_port = free_port(), free_port()
    sink = subprocess.Popen([sys.executable, str(ROOT / "bench" / "otlp_sink.py"), str(sink_port)])
    admin = await asyncpg.connect(pg_dsn)
    dbs = [f"confero_bench_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    for db in dbs:
        await admin.execute(f'CREATE DATABASE "{db}"')
    common = {"APP_ADAPTERS": "production", "APP_JWT_SECRET": secrets.token_urlsafe(40), "APP_LOG_LEVEL": "WARNING",
              "APP_REDIS_URL": redis_url, "APP_MAX_OPEN_MEETINGS_PER_USER": "1000000"}
    bare = {**common, "APP_POSTGRES_DSN": pg_dsn.rsplit("/", 1)[0] + "/" + dbs[0], "APP_METRICS_PORT": "0",
            "OTEL_SDK_DISABLED": "true"}
    observed = {**common, "APP_POSTGRES_DSN": pg_dsn.rsplit("/", 1)[0] + "/" + dbs[1],
                "APP_METRICS_PORT": str(metrics_port), "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{sink_port}",
                "OTEL_SDK_DISABLED": "false", "OTEL_SERVICE_NAME": "confero-bench"}
    if args.sample is not None:  # what production sets (compose/): a request the sampler leaves out makes no spans
        observed.update(OTEL_TRACES_SAMPLER="parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG=str(args.sample))
    if args.observability == "metrics":
        observed.update(OTEL_SDK_DISABLED="true")
    elif args.observability == "tracing":
        observed.update(APP_METRICS_PORT="0")
    totals: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    errors: dict[str, int] = {}
    idle: dict[str, float] = {}
    try:
        with process(bare, Path(args.log + ".bare"), timeout=90) as (bare_base, bare_proc), \
                process(observed, Path(args.log + ".observed"), timeout=90) as (observed_base, observed_proc):
            pids = {"off": bare_proc.pid, "on": observed_proc.pid}
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=args.workers * 4)) as s:
                scenarios = {mode: await _scenarios(s, base, args.workers)
                             for mode, base in (("off", bare_base), ("on", observed_base))}
                scraper = asyncio.ensure_future(_scrape(s, f"http://127.0.0.1:{metrics_port}/metrics")
                                                if observed["APP_METRICS_PORT"] != "0" else asyncio.sleep(0))
                try:
                    # What each process burns without requests (its background loops; the observed one's
                    # scrapes and exports too): subtracted below, so that CPU per request is the requests'.
                    idle = {mode: cpu_seconds(pid) for mode, pid in pids.items()}
                    started = time.monotonic()
                    await asyncio.sleep(args.seconds * 2)
                    idle = {mode: (cpu_seconds(pid) - idle[mode]) / (time.monotonic() - started)
                            for mode, pid in pids.items()}
                    for name in scenarios["off"]:
                        for _ in range(args.rounds):
                            for mode in ("off", "on"):
                                used, started = cpu_seconds(pids[mode]), time.monotonic()
                                r = await load(name, args.workers, args.seconds, scenarios[mode][name])
                                used = cpu_seconds(pids[mode]) - used - idle[mode] * (time.monotonic() - started)
                                totals.setdefault((name, mode), []).append(r["rps"])
                                cpu.setdefault((name, mode), []).append(1000 * used / max(1, r["n"]))
                                errors[mode] = errors.get(mode, 0) + r["errors"]
                finally:
                    scraper.cancel()
    finally:
        sink.terminate()
        sink.wait()
        for db in dbs:
            await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()
    sampled = "every trace kept" if args.sample is None else f"traces sampled at {args.sample}"
    print(f"\n{args.observability} cost (metrics, tracing; {sampled}); concurrency {args.workers}, {args.rounds} x {args.seconds:.0f} s "
          f"per scenario and mode (off and on interleaved), client and servers on one {os.cpu_count()}-core machine; "
          f"medians; CPU: the server process's user+system time per request, its idle rate deducted")
    print(f"{'scenario':24} {'off req/s':>10} {'on req/s':>10} {'on/off':>8} {'off CPU ms':>11} {'on CPU ms':>10} "
          f"{'off/on CPU':>11}")
    for name in dict.fromkeys(n for n, _ in totals):
        off, on = (statistics.median(totals[(name, m)]) for m in ("off", "on"))
        off_cpu, on_cpu = (statistics.median(cpu[(name, m)]) for m in ("off", "on"))
        print(f"{name:24} {off:10.0f} {on:10.0f} {on / off:8.3f} {off_cpu:11.2f} {on_cpu:10.2f} {off_cpu / on_cpu:11.3f}")
    print(f"idle CPU (background work, subtracted from the CPU per request): off {100 * idle['off']:.1f}%, "
          f"on {100 * idle['on']:.1f}% of a core")
    print(f"errors: off {errors.get('off', 0)}, on {errors.get('on', 0)}; load average "
          f"{os.getloadavg()[0]:.1f} (other work on the machine widens the spread of req/s; CPU per request "
          f"is the steadier measure: off/on CPU is the throughput ratio a process that has the CPU to itself gets)")


async def _scenarios(s: aiohttp.ClientSession, base: str, workers: int) -> dict:  # type: ignore[type-arg]
    tokens = []
    for i in range(workers):
        u = {"username": f"bench{i}", "email": f"bench{i}@example.com", "password": "bench password"}
        await s.post(f"{base}/api/v1/auth/register", json=u)
        r = await s.post(f"{base}/api/v1/auth/login", json={"username": u["username"], "password": u["password"]})
        tokens.append({"Authorization": f"Bearer {(await r.json())['access_token']}"})
    r = await s.post(f"{base}/api/v1/meetings", json={"title": "bench", "capacity": 1000}, headers=tokens[0])
    mid = (await r.json())["id"]

    async def get_step(i: int) -> bool:
        async with s.get(f"{base}/api/v1/meetings/{mid}", headers=tokens[i]) as r:
            await r.read()
            return r.status == 200

    async def create_step(i: int) -> bool:
        async with s.post(f"{base}/api/v1/meetings", json={"title": "bench meeting"}, headers=tokens[i]) as r:
            await r.read()
            return r.status == 201

    async def join_leave_step(i: int) -> bool:
        async with s.post(f"{base}/api/v1/meetings/{mid}/join", headers=tokens[i]) as r:
            await r.read()
            ok = r.status == 200
        async with s.post(f"{base}/api/v1/meetings/{mid}/leave", headers=tokens[i]) as r:
            await r.read()
            return ok and r.status == 200

    for _ in range(50):
        await get_step(0)
    return {"get meeting": get_step, "create meeting": create_step, "join + leave (pairs)": join_leave_step}


async def _scrape(s: aiohttp.ClientSession, url: str) -> None:
    while True:  # far more often than Prometheus would (15 s in compose/)
        async with s.get(url) as r:
            await r.read()
        await asyncio.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--log", default="/tmp/confero-bench.log")
    parser.add_argument("--root", default=str(ROOT), help="the checkout whose application is measured")
    parser.add_argument("--sample", type=float, help="--observability: keep this share of the traces (default: all)")
    parser.add_argument("--rounds", type=int, default=2, help="--observability: off/on pairs per scenario")
    parser.add_argument("--observability", nargs="?", const="both", choices=("both", "metrics", "tracing"),
                        help="measure metrics and/or tracing: the same scenarios with them off and on, same run")
    args = parser.parse_args()
    asyncio.run(run_observability(args) if args.observability else run(args))


if __name__ == "__main__":
    main()
