"""SFU benchmark: encoded-frame forwarding (adapters.webrtc) against aiortc's MediaRelay.

P publishers each send synthetic 320x240 VP8 video at 15 fps (frame counter and send time drawn
into the pixels) to an SFU; S subscribers receive every publisher's stream through it. The same
load runs twice in one run: through the forwarding core, then through MediaRelay (decode once,
re-encode per subscriber) as the baseline. The SFU is a process of its own
(tests/support/webrtc_rig.py), so its CPU time (os.times, read by the SFU itself) excludes the
clients. Reported: SFU CPU % of one core per forwarded stream, frames per second per stream and
frame delay p50/p95 (capture to decode, which includes the publisher's encoder and the
subscriber's aiortc jitter buffer and decoder in both modes).

Everything runs inside a private network namespace: the script re-runs itself under
``unshare -n`` (root). ``python bench/sfu_forwarding.py --publishers 2 --subscribers 4``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.support.netns import (  # noqa: E402
    allow_loopback_candidates,
    emit_result,
    in_private_netns,
    run_in_netns,
)

FPS = 15


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))]) if ordered else float("nan")


async def run_mode(mode: str, publishers: int, subscribers: int, warmup: float, seconds: float) -> dict[str, Any]:
    from tests.support.webrtc_rig import MarkedVideoTrack, ReceivedMedia, SfuProcess

    async with SfuProcess(mode) as sfu:
        pcs = [await sfu.publish(f"pub{p}", MarkedVideoTrack(FPS)) for p in range(publishers)]
        media = {(p, s): ReceivedMedia() for p in range(publishers) for s in range(subscribers)}
        for (p, s), m in media.items():
            pcs.append(await sfu.subscribe(f"sub{s}-of-pub{p}", f"pub{p}", m))
        await asyncio.sleep(warmup)
        before, client_before = await sfu.call("stats"), os.times()
        since = time.monotonic()
        await asyncio.sleep(seconds)
        after, client_after = await sfu.call("stats"), os.times()
        for pc in pcs:
            await pc.close()
    streams = [m.summary(since) for m in media.values()]
    delays = [d for s in streams for d in s["delays_ms"]]
    wall = after["at"] - before["at"]
    cpu = (after["cpu_s"] - before["cpu_s"]) / wall * 100
    client_cpu = ((client_after.user + client_after.system) - (client_before.user + client_before.system)) / wall * 100
    return {"mode": mode, "streams": len(streams), "sfu_cpu_pct": cpu, "cpu_pct_per_stream": cpu / len(streams),
            "client_cpu_pct": client_cpu, "fps_mean": sum(s["fps"] for s in streams) / len(streams),
            "fps_min": min(s["fps"] for s in streams), "delay_p50_ms": percentile(delays, 0.5),
            "delay_p95_ms": percentile(delays, 0.95),
            "in_order": all(all(b == a + 1 for a, b in zip(c, c[1:])) for c in (s["counters"] for s in streams)),
            "get_encoder": after["get_encoder"], "get_decoder": after["get_decoder"]}


def table(rows: list[dict[str, Any]]) -> str:
    fwd, relay = rows
    cols = [("SFU CPU %core", "sfu_cpu_pct", "{:.1f}"), ("%core/stream", "cpu_pct_per_stream", "{:.2f}"),
            ("fps mean", "fps_mean", "{:.2f}"), ("fps min", "fps_min", "{:.2f}"),
            ("delay p50 ms", "delay_p50_ms", "{:.0f}"), ("delay p95 ms", "delay_p95_ms", "{:.0f}"),
            ("in order", "in_order", "{}"), ("encoders", "get_encoder", "{}"), ("decoders", "get_decoder", "{}")]
    lines = [f"{'':<22}" + "".join(f"{name:>15}" for name, _, _ in cols)]
    for row in rows:
        lines.append(f"{row['mode'] + ' x' + str(row['streams']):<22}"
                     + "".join(f"{fmt.format(row[key]):>15}" for _, key, fmt in cols))
    ratio = [f"{relay[k] / fwd[k]:.1f}x" if isinstance(fwd[k], float) and fwd[k] else "" for _, k, _ in cols]
    lines.append(f"{'relay / forward':<22}" + "".join(f"{r:>15}" for r in ratio))
    lines.append(f"client process CPU (publishers + subscribers): forward {fwd['client_cpu_pct']:.0f}%, "
                 f"relay {relay['client_cpu_pct']:.0f}% of a core")
    return "\n".join(lines)


def inside(args: argparse.Namespace) -> None:
    allow_loopback_candidates()
    rows = [asyncio.run(run_mode(mode, args.publishers, args.subscribers, args.warmup, args.seconds))
            for mode in ("forward", "relay")]
    emit_result({"rows": rows})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--publishers", type=int, default=2)
    parser.add_argument("--subscribers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        inside(args)
        return
    if in_private_netns():
        raise SystemExit("run without --inside: the script makes its own namespace")
    try:
        result, _ = run_in_netns([str(Path(__file__).resolve()), *sys.argv[1:], "--inside"])
    except AssertionError as failure:
        raise SystemExit(f"benchmark failed: {failure}") from None
    rows = result["rows"]
    print(f"{args.publishers} publishers x {args.subscribers} subscribers, 320x240 VP8 @ {FPS} fps, "
          f"{args.seconds:.0f} s measured after {args.warmup:.0f} s warm-up")
    print(table(rows))
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
