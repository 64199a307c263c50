"""A 25-person room through our SFU: 5 publishers (camera), 20 subscribers, on this machine.

Baseline in the same run: the same 5 publishers with 1 subscriber (a 6-person room). Per stream
(publisher -> subscriber) it reports the frames per second the subscriber decoded and the frame
delay p50/p95 (send time drawn into the picture, read after decode, tests/support/webrtc_rig.py),
then the median over the streams of each room, and the SFU process's CPU.

Everything runs in ONE process inside a private network namespace (tests/support/sfu_room.py):
the SFU, the publishers' VP8 encoders (320x48 pictures, just the marks, so 100 decodes stay
affordable) and the subscribers' decoders share its event loop and the machine's 2 cores, so the
delay includes their contention: compare the two rooms, not the absolute numbers. When that one
process reaches a core (its CPU figure near 1.0) the 25-person figures measure this harness, not
the SFU: bench/sfu_forwarding.py has the SFU in a process of its own. No audio (20 watchers offer a
receive-only microphone section).

``python bench/sfu_room25.py [--publishers 5] [--subscribers 20] [--seconds 10] [--fps 15]``
(root: it re-runs itself under ``unshare -n``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.support.netns import allow_loopback_candidates, emit_result, run_in_netns  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def room(publishers: int, subscribers: int, seconds: float, fps: int) -> dict[str, Any]:
    import aioice.ice

    from tests.support.sfu_room import Room, small_video

    aioice.ice.CONSENT_FAILURES = 1000  # one loop for 25 peers: see tests/integration/test_sfu_large_rooms.py
    r = Room(max_sections=64)
    try:
        pubs = [await r.join(f"p{i}", small_video(fps)) for i in range(publishers)]
        subs = [await r.join(f"s{i}", decode=True) for i in range(subscribers)]
        for m in (*pubs, *subs):
            await m.settled(120)
        await asyncio.sleep(2.0)  # past the first keyframes
        cpu0, wall0 = os.times(), time.monotonic()
        await asyncio.sleep(seconds)
        cpu1, wall = os.times(), time.monotonic() - wall0
        streams = []
        for s in subs:
            for p in pubs:
                frames = s.video_from(p, wall0)
                frames = [f for f in frames if f[2] <= wall0 + wall]
                delays = [f[1] for f in frames]
                streams.append({"fps": len(frames) / wall, "p50": percentile(delays, 0.5),
                                "p95": percentile(delays, 0.95)})
        cpu = (cpu1.user - cpu0.user + cpu1.system - cpu0.system) / wall
        return {"publishers": publishers, "subscribers": subscribers, "streams": streams,
                "process_cpu_cores": round(cpu, 2)}
    finally:
        await r.close()


async def inside(args: argparse.Namespace) -> dict[str, Any]:
    allow_loopback_candidates()
    baseline = await room(args.publishers, 1, args.seconds, args.fps)
    large = await room(args.publishers, args.subscribers, args.seconds, args.fps)
    return {"baseline": baseline, "large": large, "fps": args.fps, "load": os.getloadavg()}


def summary(name: str, result: dict[str, Any], fps: int) -> str:
    s = result["streams"]
    fpss = [x["fps"] for x in s]
    return (f"{name:<28} {len(s):>4} streams  fps median {statistics.median(fpss):5.1f} (min {min(fpss):4.1f}, "
            f"of {fps})  delay p50 median {statistics.median(x['p50'] for x in s):6.0f} ms  "
            f"p95 median {statistics.median(x['p95'] for x in s):6.0f} ms (worst {max(x['p95'] for x in s):6.0f})  "
            f"process CPU {result['process_cpu_cores']:.2f} cores")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--publishers", type=int, default=5)
    parser.add_argument("--subscribers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--inside", action="store_true")
    args = parser.parse_args()
    if args.inside:
        emit_result(asyncio.run(inside(args)))
        return
    result, _ = run_in_netns([str(Path(__file__).resolve()), *sys.argv[1:], "--inside"], timeout=900)
    print(summary(f"baseline {args.publishers}+1 room", result["baseline"], args.fps))
    print(summary(f"{args.publishers}+{args.subscribers} room", result["large"], args.fps))
    print(f"load average during the run: {result['load']}")
    if os.environ.get("BENCH_JSON"):
        print(json.dumps(result))


if __name__ == "__main__":
    main()
