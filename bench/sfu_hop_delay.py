"""SFU hop delay: capture->decode delay through our forwarding SFU minus a direct peer connection.

Two paths, same synthetic VP8 video (frame counter and send time drawn into the pixels, as in
tests/support/webrtc_rig.py), same receiver code (``ReceivedMedia``), same measurement (send time
in the frame -> frame decoded at the subscriber, CLOCK_MONOTONIC, shared by all processes):

  direct  publisher -> subscriber, one aiortc peer connection between them (no SFU)
  sfu     publisher -> forwarding SFU process (adapters.webrtc, ``SfuProcess("forward")``) -> subscriber

Publisher and subscriber live in this (client) process in both paths; the SFU is a process of its
own. The paths run alternately (order swapped every round) for several rounds, each measured for
``--seconds`` after ``--warmup``. SFU hop delay = sfu - direct, reported per round and pooled.

Everything runs inside a private network namespace: the script re-runs itself under
``unshare -n`` (root). ``python bench/sfu_hop_delay.py [--sizes 320x240@15,640x360@30]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
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


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))]) if ordered else float("nan")


def parse_size(text: str) -> tuple[int, int, int]:
    dims, fps = text.split("@")
    width, height = dims.split("x")
    return int(width), int(height), int(fps)


def make_marked_track(width: int, height: int, fps: int) -> Any:
    """webrtc_rig's marked track at any size (marks top-left, flat grey below)."""
    from tests.support.webrtc_rig import MarkedVideoTrack, marked_frame

    return MarkedVideoTrack(fps, make_frame=lambda n, t: marked_frame(n, t, width, height))


async def outbound(pc: Any) -> tuple[int, int]:
    """(bytesSent, packetsSent) of the publisher's video outbound-rtp."""
    for stat in (await pc.getStats()).values():
        if stat.type == "outbound-rtp":
            return stat.bytesSent, stat.packetsSent
    return 0, 0


async def measure(path: str, size: tuple[int, int, int], warmup: float, seconds: float) -> dict[str, Any]:
    from aiortc import RTCSessionDescription

    from tests.support.webrtc_rig import ReceivedMedia, SfuProcess, connected, peer_connection

    width, height, fps = size
    media = ReceivedMedia()
    track = make_marked_track(width, height, fps)
    sfu_stats: dict[str, Any] = {}

    async def run(pub: Any, sub: Any, stats: Any = None) -> dict[str, Any]:
        await asyncio.sleep(warmup)
        since, out0 = time.monotonic(), await outbound(pub)
        before = await stats() if stats else {}
        await asyncio.sleep(seconds)
        out1 = await outbound(pub)
        after = await stats() if stats else {}
        frames_sent = track.counter
        for pc in (pub, sub):
            await pc.close()
        if stats:
            sfu_stats.update(frames_in=after["frames_in"] - before["frames_in"],
                             keyframe_requests=after["keyframe_requests"],
                             subscriber_drops=after["subscriber_drops"], get_encoder=after["get_encoder"],
                             get_decoder=after["get_decoder"])
        return {"since": since, "bytes": out1[0] - out0[0], "packets": out1[1] - out0[1], "sent": frames_sent}

    if path == "direct":
        pub, sub = peer_connection(), peer_connection()
        consumers: list[asyncio.Task[None]] = []
        sub.on("track", lambda t: consumers.append(asyncio.ensure_future(media.consume(t))))
        pub.addTransceiver(track, direction="sendonly")
        await pub.setLocalDescription(await pub.createOffer())
        await sub.setRemoteDescription(RTCSessionDescription(pub.localDescription.sdp, "offer"))
        await sub.setLocalDescription(await sub.createAnswer())
        await pub.setRemoteDescription(RTCSessionDescription(sub.localDescription.sdp, "answer"))
        await connected(pub)
        await connected(sub)
        window = await run(pub, sub)
    else:
        async with SfuProcess("forward") as sfu:
            pub = await sfu.publish("pub", track)
            sub = await sfu.subscribe("sub", "pub", media)
            window = await run(pub, sub, lambda: sfu.call("stats"))

    summary = media.summary(window["since"])
    delays, counters = summary["delays_ms"], summary["counters"]
    expected = counters[-1] - counters[0] + 1 if counters else 0
    return {"path": path, "size": f"{width}x{height}@{fps}", "frames": len(delays),
            "lost": expected - len(set(counters)), "fps": summary["fps"],
            "p50": percentile(delays, 0.5), "p95": percentile(delays, 0.95),
            "mean": statistics.fmean(delays) if delays else float("nan"), "delays_ms": delays,
            "pkts_per_frame": window["packets"] / len(delays) if delays else 0.0,
            "bytes_per_frame": window["bytes"] / len(delays) if delays else 0.0, **sfu_stats}


async def run_all(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for size_text in args.sizes.split(","):
        size = parse_size(size_text)
        for round_no in range(1, args.rounds + 1):
            order = ("direct", "sfu") if round_no % 2 else ("sfu", "direct")
            for path in order:
                row = await measure(path, size, args.warmup, args.seconds)
                row["round"] = round_no
                rows.append(row)
                print(f"  {row['size']} round {round_no} {path}: p50 {row['p50']:.0f} ms", file=sys.stderr, flush=True)
    return rows


def inside(args: argparse.Namespace) -> None:
    allow_loopback_candidates()
    emit_result({"rows": asyncio.run(run_all(args))})


def report(rows: list[dict[str, Any]]) -> str:
    lines = []
    for size in dict.fromkeys(r["size"] for r in rows):
        sized = [r for r in rows if r["size"] == size]
        lines.append(f"\n== {size} VP8 ==")
        lines.append(f"{'round':>5} {'path':<7}{'frames':>7}{'lost':>5}{'fps':>7}{'p50 ms':>8}{'p95 ms':>8}"
                     f"{'mean ms':>9}{'pkt/frm':>8}{'B/frm':>7}")
        for r in sized:
            lines.append(f"{r['round']:>5} {r['path']:<7}{r['frames']:>7}{r['lost']:>5}{r['fps']:>7.2f}"
                         f"{r['p50']:>8.0f}{r['p95']:>8.0f}{r['mean']:>9.1f}{r['pkts_per_frame']:>8.2f}"
                         f"{r['bytes_per_frame']:>7.0f}")
        lines.append("per-round medians (ms):  " + "   ".join(
            f"r{n}: direct {d['p50']:.0f} / sfu {s['p50']:.0f} -> hop {s['p50'] - d['p50']:+.0f}"
            for n in sorted({r['round'] for r in sized})
            for d in [next(r for r in sized if r['round'] == n and r['path'] == 'direct')]
            for s in [next(r for r in sized if r['round'] == n and r['path'] == 'sfu')]))
        pooled = {p: [x for r in sized if r["path"] == p for x in r["delays_ms"]] for p in ("direct", "sfu")}
        d50, d95 = percentile(pooled["direct"], 0.5), percentile(pooled["direct"], 0.95)
        s50, s95 = percentile(pooled["sfu"], 0.5), percentile(pooled["sfu"], 0.95)
        hops = [s["p50"] - d["p50"] for d in sized if d["path"] == "direct"
                for s in sized if s["path"] == "sfu" and s["round"] == d["round"]]
        lines.append(f"pooled over rounds: direct p50 {d50:.0f} p95 {d95:.0f} | sfu p50 {s50:.0f} p95 {s95:.0f} | "
                     f"SFU hop (p50 sfu - p50 direct) {s50 - d50:+.0f} ms, p95 diff {s95 - d95:+.0f} ms; "
                     f"per-round hop median {statistics.median(hops):+.0f} ms, range {min(hops):+.0f}..{max(hops):+.0f}")
        sfu_rows = [r for r in sized if r["path"] == "sfu"]
        lines.append("SFU process: frames_in " + ",".join(str(r.get("frames_in")) for r in sfu_rows)
                     + f"; encoders {sfu_rows[-1].get('get_encoder')} decoders {sfu_rows[-1].get('get_decoder')}"
                     + "; subscriber drops " + ",".join(str(r.get("subscriber_drops")) for r in sfu_rows)
                     + f"; goal median hop <= 25 ms: {'met' if s50 - d50 <= 25 else 'NOT met'}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="320x240@15", help="comma list of WxH@FPS")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--json", action="store_true", help="also print the raw rows")
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
    print(f"SFU hop delay: capture(send time in frame) -> decoded at subscriber; {args.rounds} rounds, "
          f"paths alternating (order swapped each round), {args.seconds:.0f} s measured after "
          f"{args.warmup:.0f} s warm-up, loopback in a private netns")
    print(report(rows))
    if args.json:
        print(json.dumps([{k: v for k, v in r.items() if k != "delays_ms"} for r in rows]))


if __name__ == "__main__":
    main()
