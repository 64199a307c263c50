"""Distributed benchmark (issue 14): the API workload of bench/api.py (create meeting, get meeting,
join + leave) through ``python -m runners.gateway`` in front of the split services (users and meetings as
their own processes, found in an etcd of the benchmark's own; meetings checks every token with users over
gRPC) against the all-in-one, same run, on PostgreSQL + Redis, rounds alternating between the two
(all-in-one, split, all-in-one, split) so that drift on a shared machine hits both alike.  Then one gRPC
call against the in-process call (bench/grpc_hop.py: MeetingAccess.admit).

Prints requests/s, p50/p99 latency and errors per scenario and path, the ratio split/all-in-one (goal:
>= 0.60) and the CPU time per request of each group of processes (independent of how many cores they
share).  Needs TEST_POSTGRES_DSN and TEST_REDIS_URL (``make bench-distributed`` sets them) and etcd
(Debian's etcd-server).  Only 127.0.0.1 is contacted.
``python bench/distributed.py --workers 16 --seconds 5 --rounds 2``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import sys
import tempfile
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.api import _scenarios, load  # noqa: E402
from bench.gateway import cpu_seconds  # noqa: E402
from bench.grpc_hop import main as grpc_hop  # noqa: E402
from tests.support.distributed import cluster, fresh_database, own_etcd  # noqa: E402
from tests.support.process import process  # noqa: E402

GOAL = 0.6


async def run(args: argparse.Namespace) -> None:
    pg_dsn, redis_url = os.environ["TEST_POSTGRES_DSN"], os.environ["TEST_REDIS_URL"]
    redis_base = redis_url.rsplit("/", 1)[0]
    work = Path(tempfile.mkdtemp(prefix="confero-bench-distributed-"))
    quiet = {"APP_LOG_LEVEL": "WARNING", "APP_MAX_OPEN_MEETINGS_PER_USER": "1000000"}
    load_before = os.getloadavg()
    totals: dict[tuple[str, str], list[dict[str, float]]] = {}
    cpu = {"all-in-one": 0.0, "split": 0.0}
    served = {"all-in-one": 0, "split": 0}
    async with fresh_database(pg_dsn) as one_dsn, fresh_database(pg_dsn) as split_dsn:
        with contextlib.ExitStack() as stack:
            allinone, allinone_proc = stack.enter_context(process(
                {"APP_ADAPTERS": "production", "APP_JWT_SECRET": secrets.token_urlsafe(40), "APP_METRICS_PORT": "0",
                 "APP_POSTGRES_DSN": one_dsn, "APP_REDIS_URL": f"{redis_base}/14", **quiet},
                work / "allinone.log", timeout=60))
            etcd = stack.enter_context(own_etcd(work / "etcd"))
            # --local-tokens: meetings checks access tokens itself (same key, sessions in the same Redis)
            # instead of asking the users service over gRPC for every request.
            tokens = {"meetings": {"APP_USERS_GRPC_TARGET": ""}} if args.local_tokens else {}
            split = stack.enter_context(cluster(work, split_dsn, f"{redis_base}/15", etcd, signaling=0, extra=quiet,
                                                service_env=tokens))
            pids = {"all-in-one": [allinone_proc.pid],
                    "split": [m.proc.pid for ms in split.members.values() for m in ms] + [split.gateway_proc.pid]}
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=args.workers * 4)) as s:
                await _ready(s, split.gateway)
                scenarios = {"all-in-one": await _scenarios(s, allinone, args.workers),
                             "split": await _scenarios(s, split.gateway, args.workers)}
                for name in scenarios["all-in-one"]:
                    for _ in range(args.rounds):
                        for path in ("all-in-one", "split"):
                            before = sum(cpu_seconds(p) for p in pids[path])
                            r = await load(name, args.workers, args.seconds, scenarios[path][name])
                            cpu[path] += sum(cpu_seconds(p) for p in pids[path]) - before
                            served[path] += int(r["n"])
                            totals.setdefault((name, path), []).append(r)
    how = "meetings checks tokens itself" if args.local_tokens else "meetings checks tokens with users over gRPC"
    print(f"\n## API through the gateway and the split services ({how}) vs the all-in-one (PostgreSQL + Redis)\n"
          f"concurrency {args.workers}, {args.rounds} x {args.seconds:g} s per scenario and path, alternating; "
          f"client and servers on one {os.cpu_count()}-core machine; load average before {load_before[0]:.1f}, "
          f"after {os.getloadavg()[0]:.1f}")
    print("| scenario | path | req/s | p50 ms | p99 ms | errors | split / all-in-one |")
    print("|---|---|---|---|---|---|---|")
    ratios = []
    for name in dict.fromkeys(n for n, _ in totals):
        rps = {}
        for path in ("all-in-one", "split"):
            rounds = totals[(name, path)]
            rps[path] = sum(r["rps"] for r in rounds) / len(rounds)
            p50 = sum(r["p50"] for r in rounds) / len(rounds)
            p99 = max(r["p99"] for r in rounds)
            errors = sum(r["errors"] for r in rounds)
            ratio = rps["split"] / rps["all-in-one"] if path == "split" else None
            if ratio is not None:
                ratios.append(ratio)
            print(f"| {name} | {path} | {rps[path]:.0f} | {p50:.2f} | {p99:.2f} | {errors} | "
                  f"{f'{ratio:.2f}' if ratio is not None else ''} |")
    worst = min(ratios)
    print(f"\nworst ratio split/all-in-one: {worst:.2f} (goal >= {GOAL:.2f}: {'met' if worst >= GOAL else 'NOT met'})")
    per = {k: 1000 * cpu[k] / max(1, served[k]) for k in cpu}
    print(f"CPU per request: all-in-one {per['all-in-one']:.2f} ms; gateway + users + meetings {per['split']:.2f} ms "
          f"(x{per['split'] / per['all-in-one']:.1f})")
    print()
    await grpc_hop(args.calls, args.concurrency)


async def _ready(s: aiohttp.ClientSession, gateway: str) -> None:
    async with asyncio.timeout(60):
        while True:
            async with s.get(f"{gateway}/ready") as r:
                if r.status == 200:
                    return
            await asyncio.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--local-tokens", action="store_true",
                        help="meetings checks tokens itself instead of over gRPC with the users service")
    parser.add_argument("--calls", type=int, default=2000, help="gRPC hop: calls per measurement")
    parser.add_argument("--concurrency", type=int, default=16, help="gRPC hop: concurrent callers")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
