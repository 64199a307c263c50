"""What relaying a member's signals to a media node over gRPC costs, against calling the SFU in process.

The MediaServer behind both is the same stand-in (tests/support/media_fakes.py: it keeps members, answers
at once), so the figures are the hop alone: GrpcMediaServer -> grpclib on 127.0.0.1 (same process,
service secret, request id, deadline) -> MediaNodeServicer -> MediaNode -> the stand-in.  The aiortc
work of a real offer (milliseconds to tens of them) comes on top in both cases.

Calls: ``ice_candidate`` (a member trickles several per connection), ``offer`` (an SDP of about 5 kB, as
a browser's with audio and video), ``stats`` of a 10-member room.  Prints median and p95 of sequential
calls for each, in process and over gRPC, and calls per second over gRPC with CONCURRENCY callers.
`python bench/media_hop.py [--calls N] [--concurrency C]`.
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
from adapters.grpc.client import CallPolicy  # noqa: E402
from adapters.grpc.media import GrpcMediaServer  # noqa: E402
from domain.rooms.media_node import MediaNode  # noqa: E402
from domain.shared.ids import MeetingId, UserId, new_id  # noqa: E402
from runners.rpc.media import MediaNodeServicer  # noqa: E402
from runners.rpc.server import bound_port, serving  # noqa: E402
from tests.support.media_fakes import FakeMediaServer  # noqa: E402

SECRET = "the-shared-service-secret-of-the-media-bench-0123456789"
ROOM = MeetingId(new_id())
MEMBERS = [UserId(new_id()) for _ in range(10)]
CANDIDATE = {"candidate": {"candidate": "candidate:842163049 1 udp 1677729535 198.51.100.7 61665 typ srflx "
                                        "raddr 0.0.0.0 rport 0 generation 0 ufrag sXJ3 network-cost 999",
                           "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": "sXJ3"}}
OFFER = {"sdp": "v=0\r\n" + "a=x-filler:" + "0123456789abcdef" * 300 + "\r\n"}


def p95(xs: list[float]) -> float:
    return sorted(xs)[int(len(xs) * 0.95) - 1]


async def sequential(call, calls: int) -> list[float]:  # type: ignore[no-untyped-def]
    spent = []
    for _ in range(calls):
        t0 = time.perf_counter()
        await call()
        spent.append(time.perf_counter() - t0)
    return spent


async def main(calls: int, concurrency: int) -> None:
    fake = FakeMediaServer()
    local = MediaNode(fake)
    for member in MEMBERS:
        await local.signal(ROOM, member, "offer", OFFER)
    async with serving([MediaNodeServicer(local, (SECRET,))], "127.0.0.1", 0) as server:
        remote = GrpcMediaServer.to(f"127.0.0.1:{bound_port(server)}", token=SECRET, policy=CallPolicy())
        try:
            ops = {"ice_candidate": lambda m: m.signal(ROOM, MEMBERS[0], "ice_candidate", CANDIDATE),
                   "offer": lambda m: m.signal(ROOM, MEMBERS[0], "offer", OFFER),
                   "stats": lambda m: m.stats(ROOM)}
            print(f"{calls} sequential calls each; ms: median / p95")
            for name, op in ops.items():
                await sequential(lambda: op(remote), 50)  # warm: connection, codec
                fake.calls.clear()
                here = await sequential(lambda: op(local), calls)
                there = await sequential(lambda: op(remote), calls)
                print(f"  {name:14s} in process {statistics.median(here) * 1e3:7.3f} / {p95(here) * 1e3:7.3f}   "
                      f"over gRPC {statistics.median(there) * 1e3:7.3f} / {p95(there) * 1e3:7.3f}   "
                      f"x{statistics.median(there) / statistics.median(here):.0f}")

            async def caller() -> None:
                for _ in range(calls // concurrency):
                    await ops["ice_candidate"](remote)

            t0 = time.perf_counter()
            await asyncio.gather(*(caller() for _ in range(concurrency)))
            rate = (calls // concurrency) * concurrency / (time.perf_counter() - t0)
            print(f"ice_candidate over gRPC with {concurrency} callers: {rate:.0f} calls/s")
        finally:
            await remote.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.concurrency))
