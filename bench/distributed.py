"""Distributed benchmark (issue 14): the API workload of bench/api.py (create meeting, get meeting,
join + leave) through ``python -m runners.gateway`` in front of the split services (users and meetings as
their own processes, found in an etcd of the benchmark's own) against the all-in-one, same run, on
PostgreSQL + Redis, rounds alternating between the paths so that drift on a shared machine hits all alike.
Two split layouts: meetings checks every token with users over gRPC ("split", APP_USERS_GRPC_TARGET=etcd),
and meetings checks tokens itself ("split, local tokens": the same key and the sessions in the same Redis).
Then one gRPC call against the in-process call (bench/grpc_hop.py: MeetingAccess.admit).

Prints requests/s, p50/p99 latency and errors per scenario and path, the ratio to the all-in-one (goal:
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


PATHS = ("all-in-one", "split", "split, local tokens")


async def run(args: argparse.Namespace) -> None:
    pg_dsn, redis_url = os.environ["TEST_POSTGRES_DSN"], os.environ["TEST_REDIS_URL"]
    redis_base = redis_url.rsplit("/", 1)[0]
    work = Path(tempfile.mkdtemp(prefix="confero-bench-distributed-"))
    quiet = {"APP_LOG_LEVEL": "WARNING", "APP_MAX_OPEN_MEETINGS_PER_USER": "1000000"}
    load_before = os.getloadavg()
    totals: dict[tuple[str, str], list[dict[str, float]]] = {}
    cpu = dict.fromkeys(PATHS, 0.0)
    served = dict.fromkeys(PATHS, 0)
    async with fresh_database(pg_dsn) as one_dsn, fresh_database(pg_dsn) as split_dsn, \
            fresh_database(pg_dsn) as local_dsn:
        with contextlib.ExitStack() as stack:
            allinone, allinone_proc = stack.enter_context(process(
                {"APP_ADAPTERS": "production", "APP_JWT_SECRET": secrets.token_urlsafe(40), "APP_METRICS_PORT": "0",
                 "APP_POSTGRES_DSN": one_dsn, "APP_REDIS_URL": f"{redis_base}/13", **quiet},
                work / "allinone.log", timeout=60))
            etcd = stack.enter_context(own_etcd(work / "etcd"))
            split = stack.enter_context(cluster(work, split_dsn, f"{redis_base}/14", etcd, signaling=0, extra=quiet))
            # meetings checks access tokens itself (the same key, the sessions in the same Redis) instead of
            # asking the users service over gRPC for every request.
            local = stack.enter_context(cluster(work, local_dsn, f"{redis_base}/15", etcd, signaling=0, extra=quiet,
                                                service_env={"meetings": {"APP_USERS_GRPC_TARGET": ""}}))
            bases = {"all-in-one": allinone, "split": split.gateway, "split, local tokens": local.gateway}
            roles: dict[str, dict[str, list[int]]] = {"all-in-one": {"all-in-one": [allinone_proc.pid]}}
            for path, c in (("split", split), ("split, local tokens", local)):
                roles[path] = {service: [m.proc.pid for m in ms] for service, ms in c.members.items() if ms}
                roles[path]["gateway"] = [c.gateway_proc.pid]
            role_cpu: dict[tuple[str, str], float] = {}
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=args.workers * 4)) as s:
                for c in (split, local):
                    await _ready(s, c.gateway)
                scenarios = {path: await _scenarios(s, base, args.workers) for path, base in bases.items()}
                for name in scenarios["all-in-one"]:
                    for _ in range(args.rounds):
                        for path in PATHS:
                            before = {role: sum(cpu_seconds(p) for p in ps) for role, ps in roles[path].items()}
                            r = await load(name, args.workers, args.seconds, scenarios[path][name])
                            for role, ps in roles[path].items():
                                spent = sum(cpu_seconds(p) for p in ps) - before[role]
                                cpu[path] += spent
                                role_cpu[(path, role)] = role_cpu.get((path, role), 0.0) + spent
                            served[path] += int(r["n"])
                            totals.setdefault((name, path), []).append(r)
    print(f"\n## API through the gateway and the split services vs the all-in-one (PostgreSQL + Redis)\n"
          f"split: gateway, users, meetings (meetings checks each token with users over gRPC); split, local "
          f"tokens: the same, meetings checks tokens itself.  Concurrency {args.workers}, {args.rounds} x "
          f"{args.seconds:g} s per scenario and path, alternating; client and servers on one {os.cpu_count()}-core "
          f"machine; load average before {load_before[0]:.1f}, after {os.getloadavg()[0]:.1f}")
    print("| scenario | path | req/s | p50 ms | p99 ms | errors | / all-in-one |")
    print("|---|---|---|---|---|---|---|")
    worst: dict[str, float] = {}
    for name in dict.fromkeys(n for n, _ in totals):
        rps = {}
        for path in PATHS:
            rounds = totals[(name, path)]
            rps[path] = sum(r["rps"] for r in rounds) / len(rounds)
            p50 = sum(r["p50"] for r in rounds) / len(rounds)
            p99 = max(r["p99"] for r in rounds)
            errors = sum(r["errors"] for r in rounds)
            ratio = rps[path] / rps["all-in-one"] if path != "all-in-one" else None
            if ratio is not None:
                worst[path] = min(worst.get(path, ratio), ratio)
            print(f"| {name} | {path} | {rps[path]:.0f} | {p50:.2f} | {p99:.2f} | {errors} | "
                  f"{f'{ratio:.2f}' if ratio is not None else ''} |")
    print()
    for path, ratio in worst.items():
        print(f"worst ratio {path} / all-in-one: {ratio:.2f} (goal >= {GOAL:.2f}: {'met' if ratio >= GOAL else 'NOT met'})")
    per = {k: 1000 * cpu[k] / max(1, served[k]) for k in cpu}
    print("CPU per request (every process of the path): " + ", ".join(
        f"{k} {v:.2f} ms" + (f" (x{v / per['all-in-one']:.1f})" if k != "all-in-one" else "") for k, v in per.items()))
    for path in PATHS[1:]:
        print(f"  {path}: " + ", ".join(f"{role} {1000 * spent / max(1, served[path]):.2f} ms"
                                       for (p, role), spent in role_cpu.items() if p == path))
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
    parser.add_argument("--calls", type=int, default=2000, help="gRPC hop: calls per measurement")
    parser.add_argument("--concurrency", type=int, default=16, help="gRPC hop: concurrent callers")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
