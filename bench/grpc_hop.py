"""One gRPC hop against the in-process call: MeetingAccess.admit of a member already in the meeting
(the common case: a reconnect), in process (InProcessMeetingAccess) and through GrpcMeetingAccess to a
grpclib server on 127.0.0.1 (same process, memory adapters, service secret, request id, deadline).

Prints median and p95 latency of sequential calls, calls per second with CONCURRENCY callers, and the
ratios.  `python bench/grpc_hop.py [--calls N] [--concurrency C]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.support.grpc_world import in_process, over_grpc  # noqa: E402


async def sequential(access, actor, meeting, calls: int) -> list[float]:  # type: ignore[no-untyped-def]
    spent = []
    for _ in range(calls):
        t0 = time.perf_counter()
        await access.admit(actor, meeting, None)
        spent.append(time.perf_counter() - t0)
    return spent


async def throughput(access, rooms, calls: int) -> float:  # type: ignore[no-untyped-def]
    """Each caller in its own meeting: concurrent joins of one meeting contend for its aggregate (the
    meeting service's optimistic retries), which is not what this measures."""
    async def caller(actor, meeting) -> None:  # type: ignore[no-untyped-def]
        for _ in range(calls // len(rooms)):
            await access.admit(actor, meeting, None)

    t0 = time.perf_counter()
    await asyncio.gather(*(caller(a, m) for a, m in rooms))
    return (calls // len(rooms)) * len(rooms) / (time.perf_counter() - t0)


def p95(xs: list[float]) -> float:
    return sorted(xs)[int(len(xs) * 0.95) - 1]


async def main(calls: int, concurrency: int) -> None:
    async with in_process() as local:
        host = await local.user("Hanna")
        meeting = await local.meeting(host)
        await local.access.admit(host, meeting, None)
        rooms = []
        for i in range(concurrency):
            member = await local.user(f"Member {i}")
            rooms.append((member, await local.meeting(member)))
            await local.access.admit(member, rooms[-1][1], None)
        async with over_grpc(local) as remote:
            await sequential(remote.access, host, meeting, 50)  # warm: connection, codec, caches
            await sequential(local.access, host, meeting, 50)
            rows = []
            for label, world in (("in-process", local), ("gRPC (grpclib, 127.0.0.1)", remote)):
                lat = await sequential(world.access, host, meeting, calls)
                rate = await throughput(world.access, rooms, calls)
                rows.append((label, statistics.median(lat), p95(lat), rate))
    print(f"## MeetingAccess.admit: {calls} sequential calls, then {calls} calls from {concurrency} concurrent callers (one meeting each)")
    print("| path | median ms | p95 ms | calls/s |")
    print("|---|---|---|---|")
    for label, med, tail, rate in rows:
        print(f"| {label} | {med * 1000:.3f} | {tail * 1000:.3f} | {rate:.0f} |")
    (_, m0, _, r0), (_, m1, _, r1) = rows
    print(f"\nratio gRPC / in-process: median latency x{m1 / m0:.1f} (+{(m1 - m0) * 1000:.3f} ms per hop), "
          f"throughput {r1 / r0:.0%} of in-process")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.concurrency))
