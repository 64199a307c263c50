"""SFU benchmark: our forwarding core (adapters.webrtc) against Janus VideoRoom, same clients, same load.

P publishers each send synthetic VP8 video (frame counter and send time drawn into the pixels, see
tests/support/webrtc_rig.py) at each profile (default 320x240@15 and 640x360@30); S subscribers
receive every publisher's stream. Per profile the same client code and load run through
(a) ``ours``: the forwarding core in an SFU process of its own (as bench/sfu_forwarding.py: its
CPU is os.times() read by that process), then (b) ``janus``: Janus 1.1 VideoRoom (Debian ``janus``),
driven over its HTTP API (bench/janus_videoroom.py); its CPU is utime+stime of its process from
/proc/<pid>/stat. Reported per target: SFU CPU % of one core per forwarded stream (P*S streams),
received frames per second per stream, frame delay p50/p95 (send timestamp in the frame, read at
the subscriber after decode: includes the publisher's encoder and the subscriber's jitter buffer
and decoder for both targets), CPU microseconds per forwarded RTP packet, and ours/Janus ratios. Our
SFU is configured as SfuPeer configures a publisher (fixed REMB; ``--aiortc-remb``: aiortc's
estimator, as earlier runs of this bench); ``--profile-ours PATH`` writes a CPU-time cProfile of it.

Network: the script re-runs itself under ``unshare -n`` (root) and, inside that new namespace
only, brings lo up and creates a veth pair jb0/jb1 with 10.203.0.1/24 and 10.203.0.2/24 (Janus
ignores loopback-flagged interfaces). Janus binds its HTTP API to 10.203.0.1 and gathers ICE only
there; the Janus clients offer 10.203.0.2; our SFU and its clients use 127.0.0.1 as in
sfu_forwarding.py. The namespace has no route out and vanishes with the process.

``python bench/sfu.py --publishers 2 --subscribers 3 --profiles 320x240@15,640x360@30``
Install Janus first: ``apt-get -o DPkg::Lock::Timeout=600 install -y janus``.
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
THIS = Path(__file__).resolve()
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(THIS.parent))
from tests.support import netns  # noqa: E402
from tests.support.netns import emit_result, run_in_netns  # noqa: E402

JANUS_IF, CLIENT_IF = "jb0", "jb1"
JANUS_IP, CLIENT_IP = "10.203.0.1", "10.203.0.2"
NETNS_SETUP = (f"set -e; ip link set lo up; ip link add {JANUS_IF} type veth peer name {CLIENT_IF}; "
               f"ip addr add {JANUS_IP}/24 dev {JANUS_IF}; ip addr add {CLIENT_IP}/24 dev {CLIENT_IF}; "
               f"ip link set {JANUS_IF} up; ip link set {CLIENT_IF} up; "
               # libnice sends out of jb0 itself: accept the packets arriving on jb1/jb0 from an address
               # local to this namespace (these sysctls belong to the new namespace only)
               f"for i in all {JANUS_IF} {CLIENT_IF}; do echo 1 > /proc/sys/net/ipv4/conf/$i/accept_local; "
               f"echo 0 > /proc/sys/net/ipv4/conf/$i/rp_filter; done")
MARK_WIDTH = 320  # tests.support.webrtc_rig draws its marks in the first 320 columns
CONTENT = "noise"  # set from --content
IDLE_SECONDS = 3.0  # SFU process CPU measured with no peer before each run
AIORTC_REMB = False  # set from --aiortc-remb
PROFILE_OURS = ""  # set from --profile-ours


def production_sfu_server(aiortc_remb: bool) -> Any:
    """webrtc_rig's forwarding SFU configured as SfuPeer configures a publisher's connection: its video
    receivers report the fixed publish ceiling as REMB (aiortc_internals.FixedRemb) instead of running
    aiortc's delay-based estimator on every packet (``aiortc_remb``: keep aiortc's, as before)."""
    from adapters.webrtc import aiortc_internals
    from adapters.webrtc.sfu_peer import PUBLISH_MAX_BPS
    from tests.support.webrtc_rig import SfuServer

    class ProductionSfuServer(SfuServer):
        async def op_publish(self, req: dict[str, Any]) -> dict[str, Any]:
            reply = await super().op_publish(req)  # the receivers start once ICE and DTLS are up: later
            for transceiver in self.pcs[req["peer"]].getTransceivers():
                if transceiver.kind == "video" and not aiortc_remb:
                    aiortc_internals.fix_remb(transceiver.receiver, PUBLISH_MAX_BPS)
            return reply

    return ProductionSfuServer("forward")


# --- the namespace ---------------------------------------------------------------------------------

def _in_bench_netns() -> bool:
    """Like netns.in_private_netns, but our namespace also holds the veth pair this script created in it."""
    try:
        with open("/proc/self/net/dev") as dev:
            names = {line.split(":")[0].strip() for line in dev.readlines()[2:]}
    except OSError:
        return False
    outer = os.environ.get(netns.PARENT_NETNS)
    return ("lo" in names and names <= {"lo", JANUS_IF, CLIENT_IF}
            and outer is not None and outer != netns.current_netns())


def use_bench_netns() -> None:
    netns.in_private_netns = _in_bench_netns  # require_private_netns() looks it up at call time
    netns.require_private_netns()


def host_addresses(addresses: list[str]) -> None:
    """The addresses aioice offers as host candidates from now on."""
    import aioice.ice

    netns.require_private_netns()
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: list(addresses) if use_ipv4 else []


# --- synthetic media of any size ---------------------------------------------------------------------

_TEXTURES: dict[tuple[int, int], list[bytes]] = {}
TEXTURE_CYCLE = 16  # different pictures, shown in turn: every frame differs from the one before


def _textures(width: int, rows: int) -> list[bytes]:
    """Mid-grey 8x8-pixel random blocks (luma 0x50..0xb0), so the encoder has something to send."""
    if (width, rows) not in _TEXTURES:
        table = bytes(0x50 + i * 0x60 // 256 for i in range(256))
        pictures = []
        for _ in range(TEXTURE_CYCLE):
            lines = []
            for _ in range(-(-rows // 8)):
                line = b"".join(bytes([v]) * 8 for v in os.urandom(-(-width // 8)).translate(table))[:width]
                lines.append(line * 8)
            pictures.append(b"".join(lines)[:width * rows])
        _TEXTURES[(width, rows)] = pictures
    return _TEXTURES[(width, rows)]


def marked_frame(counter: int, sent_ms: int, width: int, height: int, content: str = "noise") -> Any:
    """webrtc_rig.marked_frame at width x height; below the marks flat grey (``static``) or changing
    random blocks (``noise``)."""
    from tests.support.webrtc_rig import BLOCK
    from tests.support.webrtc_rig import marked_frame as rig_frame

    below = _textures(width, height - 3 * BLOCK)[counter % TEXTURE_CYCLE] if content == "noise" else None
    return rig_frame(counter, sent_ms, width, height, below)


def marked_track(width: int, height: int, fps: int, content: str) -> Any:
    from tests.support.webrtc_rig import MarkedVideoTrack

    return MarkedVideoTrack(fps, make_frame=lambda n, t: marked_frame(n, t, width, height, content))


# --- the two targets -----------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))]) if ordered else float("nan")


def summarize(target: str, profile: str, media: dict[Any, Any], since: float, wall: float, cpu_s: float,
              client_cpu_s: float, fps: int) -> dict[str, Any]:
    streams = [m.summary(since) for m in media.values()]
    delays = [d for s in streams for d in s["delays_ms"]]
    counters = [s["counters"] for s in streams]
    cpu = cpu_s / wall * 100
    return {"target": target, "profile": profile, "streams": len(streams), "sfu_cpu_pct": cpu,
            "cpu_pct_per_stream": cpu / len(streams), "client_cpu_pct": client_cpu_s / wall * 100,
            "fps_mean": sum(s["fps"] for s in streams) / len(streams),
            "fps_min": min(s["fps"] for s in streams),
            # frames decoded / frames sent in the window, from the counters drawn into the frames
            "frames_pct": 100 * sum(len(c) for c in counters) / max(1, sum(max(c) - min(c) + 1 for c in counters if c)),
            "delay_p50_ms": percentile(delays, 0.5), "delay_p95_ms": percentile(delays, 0.95),
            "in_order": all(all(b > a for a, b in zip(c, c[1:])) for c in (s["counters"] for s in streams))}


async def rtp_totals(pub_pcs: list[Any], sub_pcs: list[Any]) -> dict[str, int]:
    """Publishers' RTP sent and subscribers' RTP received/lost (aiortc getStats), summed."""
    totals = {"bytes_sent": 0, "packets_sent": 0, "packets_received": 0, "packets_lost": 0}
    for pcs, kind in ((pub_pcs, "outbound-rtp"), (sub_pcs, "inbound-rtp")):
        for pc in pcs:
            for stat in (await pc.getStats()).values():
                if stat.type != kind:
                    continue
                if kind == "outbound-rtp":
                    totals["bytes_sent"] += stat.bytesSent
                    totals["packets_sent"] += stat.packetsSent
                else:
                    totals["packets_received"] += stat.packetsReceived
                    totals["packets_lost"] += stat.packetsLost
    return totals


def add_rtp(row: dict[str, Any], before: dict[str, int], after: dict[str, int], wall: float, publishers: int) -> None:
    d = {k: after[k] - before[k] for k in after}
    row["pub_kbps"] = d["bytes_sent"] * 8 / wall / 1000 / publishers
    row["pub_pps"] = d["packets_sent"] / wall / publishers
    # per forwarded packet: the publishers' rates differ between runs on a busy machine (their encoders
    # share the client process), and an SFU's work follows the packets it forwards
    forwarded = d["packets_sent"] * row["streams"] / publishers
    row["cpu_us_per_packet"] = row["sfu_cpu_pct"] / 100 * wall * 1e6 / max(1, forwarded)
    row["sub_loss_pct"] = 100 * d["packets_lost"] / max(1, d["packets_received"] + d["packets_lost"])


def client_cpu() -> float:
    t = os.times()
    return t.user + t.system


async def run_ours(profile: str, width: int, height: int, fps: int, publishers: int, subscribers: int,
                   warmup: float, seconds: float) -> dict[str, Any]:
    from tests.support.webrtc_rig import ReceivedMedia, SfuProcess

    class OurSfu(SfuProcess):
        """webrtc_rig's SFU process in forward mode, started through this script (our namespace check)."""

        async def __aenter__(self) -> OurSfu:
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable, str(THIS), "--serve-ours", *(["--aiortc-remb"] if AIORTC_REMB else []),
                *(["--profile-ours", PROFILE_OURS] if PROFILE_OURS else []),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, env=dict(os.environ))
            return self

    host_addresses(["127.0.0.1"])
    async with OurSfu("forward") as sfu:
        idle_before = await sfu.call("stats")
        await asyncio.sleep(IDLE_SECONDS)
        idle_after = await sfu.call("stats")
        pub_pcs = [await sfu.publish(f"pub{p}", marked_track(width, height, fps, CONTENT))
                   for p in range(publishers)]
        media = {(p, s): ReceivedMedia() for p in range(publishers) for s in range(subscribers)}
        sub_pcs = [await sfu.subscribe(f"sub{s}-of-pub{p}", f"pub{p}", m) for (p, s), m in media.items()]
        await asyncio.sleep(warmup)
        rtp_before = await rtp_totals(pub_pcs, sub_pcs)
        before, client_before = await sfu.call("stats"), client_cpu()
        since = time.monotonic()
        await asyncio.sleep(seconds)
        after, client_after = await sfu.call("stats"), client_cpu()
        rtp_after = await rtp_totals(pub_pcs, sub_pcs)
        for pc in pub_pcs + sub_pcs:
            await pc.close()
    wall = after["at"] - before["at"]
    row = summarize("ours", profile, media, since, wall, after["cpu_s"] - before["cpu_s"],
                    client_after - client_before, fps)
    add_rtp(row, rtp_before, rtp_after, wall, publishers)
    row["idle_cpu_pct"] = (idle_after["cpu_s"] - idle_before["cpu_s"]) / (idle_after["at"] - idle_before["at"]) * 100
    row["note"] = f"encoders={after['get_encoder']} decoders={after['get_decoder']}"
    return row


async def run_janus(profile: str, width: int, height: int, fps: int, publishers: int, subscribers: int,
                    warmup: float, seconds: float) -> dict[str, Any]:
    from aiortc import RTCSessionDescription

    from janus_videoroom import JanusServer, JanusSession
    from tests.support.webrtc_rig import ReceivedMedia, connected, peer_connection

    host_addresses([CLIENT_IP])
    room = 1000 + width
    async with JanusServer(JANUS_IP, debug_level=int(os.environ.get("BENCH_JANUS_DEBUG", "3"))) as janus:
        try:
            idle_cpu, idle_at = janus.cpu_seconds(), time.monotonic()
            await asyncio.sleep(IDLE_SECONDS)
            idle_pct = (janus.cpu_seconds() - idle_cpu) / (time.monotonic() - idle_at) * 100
            async with JanusSession(janus.url) as session:
                admin = await session.attach()
                await admin.create_room(room, publishers)
                pcs, feeds = [], []
                for p in range(publishers):
                    pc = peer_connection()
                    pc.addTransceiver(marked_track(width, height, fps, CONTENT), direction="sendonly")
                    await pc.setLocalDescription(await pc.createOffer())
                    handle = await session.attach()
                    feed, answer = await handle.publish(room, f"pub{p}", pc.localDescription.sdp)
                    if os.environ.get("BENCH_DEBUG"):
                        print(pc.localDescription.sdp, answer, sep="\n---\n", file=sys.stderr)
                    await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
                    await connected(pc)
                    pcs.append(pc)
                    feeds.append(feed)
                media = {(p, s): ReceivedMedia() for p in range(publishers) for s in range(subscribers)}
                for (p, s), m in media.items():
                    pc = peer_connection()
                    pc.on("track", lambda track, m=m: asyncio.ensure_future(m.consume(track)))
                    handle = await session.attach()
                    offer = await handle.subscribe(room, feeds[p])
                    await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
                    await pc.setLocalDescription(await pc.createAnswer())
                    await handle.start(room, pc.localDescription.sdp)
                    await connected(pc)
                    pcs.append(pc)
                await asyncio.sleep(warmup)
                pub_pcs, sub_pcs = pcs[:publishers], pcs[publishers:]
                rtp_before = await rtp_totals(pub_pcs, sub_pcs)
                cpu_before, at_before, client_before = janus.cpu_seconds(), time.monotonic(), client_cpu()
                since = time.monotonic()
                await asyncio.sleep(seconds)
                cpu_after, at_after, client_after = janus.cpu_seconds(), time.monotonic(), client_cpu()
                rtp_after = await rtp_totals(pub_pcs, sub_pcs)
                for pc in pcs:
                    await pc.close()
                await admin.destroy_room(room)
        except Exception as exc:
            raise RuntimeError(f"Janus run failed: {exc!r}\n--- janus log tail ---\n{janus.log_tail()}") from exc
    row = summarize("janus", profile, media, since, at_after - at_before, cpu_after - cpu_before,
                    client_after - client_before, fps)
    add_rtp(row, rtp_before, rtp_after, at_after - at_before, publishers)
    row["idle_cpu_pct"] = idle_pct
    row["note"] = "Janus 1.1.2 VideoRoom"
    return row


def parse_profile(text: str) -> tuple[int, int, int, int]:
    """WxH@FPS[:KBPS] -> (width, height, fps, publisher bitrate in kbit/s)."""
    text, _, kbps = text.partition(":")
    size, fps = text.split("@")
    width, height = size.split("x")
    if int(width) < MARK_WIDTH:
        raise argparse.ArgumentTypeError(f"width must be at least {MARK_WIDTH}")
    return int(width), int(height), int(fps), int(kbps or 500)


PUBLISHER_BITRATE = [500_000]


def pin_publisher_bitrate() -> None:
    """The publishers' VP8 encoders ignore REMB: both SFUs get the same input whatever they estimate."""
    from aiortc.codecs.vpx import Vp8Encoder

    Vp8Encoder.target_bitrate = property(lambda self: PUBLISHER_BITRATE[0], lambda self, value: None)


async def inside(args: argparse.Namespace) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    pin_publisher_bitrate()
    targets = [(t, r) for t, r in (("ours", run_ours), ("janus", run_janus)) if t in args.targets.split(",")]
    for round_ in range(args.rounds):
        for spec in args.profiles.split(","):
            width, height, fps, kbps = parse_profile(spec)
            PUBLISHER_BITRATE[0] = kbps * 1000
            profile = f"{width}x{height}@{fps}"
            for target, run in targets if round_ % 2 == 0 else targets[::-1]:  # alternate who goes first
                try:
                    row = await run(profile, width, height, fps, args.publishers, args.subscribers,
                                    args.warmup, args.seconds)
                    rows.append({**row, "round": round_})
                except Exception as exc:  # reported; the other target still runs
                    errors.append(f"{target} {profile} round {round_}: {exc}")
                print(f"done {target} {profile} round {round_}", file=sys.stderr, flush=True)
    return {"rows": rows, "errors": errors}


# --- output --------------------------------------------------------------------------------------------

COLS = [("idle %core", "idle_cpu_pct", "{:.2f}"), ("SFU %core", "sfu_cpu_pct", "{:.1f}"), ("%core/stream", "cpu_pct_per_stream", "{:.2f}"),
        ("CPU us/pkt", "cpu_us_per_packet", "{:.1f}"),
        ("fps mean", "fps_mean", "{:.2f}"), ("fps min", "fps_min", "{:.2f}"), ("frames %", "frames_pct", "{:.1f}"),
        ("delay p50 ms", "delay_p50_ms", "{:.0f}"), ("delay p95 ms", "delay_p95_ms", "{:.0f}"),
        ("kbps/pub", "pub_kbps", "{:.0f}"), ("pkt/s/pub", "pub_pps", "{:.0f}"), ("sub loss %", "sub_loss_pct", "{:.2f}"),
        ("clients %core", "client_cpu_pct", "{:.0f}"), ("in order", "in_order", "{}")]
NO_RATIO = ("idle_cpu_pct", "client_cpu_pct", "in_order", "pub_kbps", "pub_pps", "sub_loss_pct")


def median_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (profile, target): the median of each number over the rounds."""
    import statistics

    merged = []
    for key in dict.fromkeys((r["profile"], r["target"]) for r in rows):
        group = [r for r in rows if (r["profile"], r["target"]) == key]
        row = {k: (statistics.median(r[k] for r in group) if isinstance(v, float) else v)
               for k, v in group[0].items()}
        row["in_order"] = all(r["in_order"] for r in group)
        row["rounds"] = len(group)
        row["per_round_cpu_per_stream"] = [round(r["cpu_pct_per_stream"], 2) for r in group]
        row["per_round_us_per_packet"] = [round(r["cpu_us_per_packet"], 1) for r in group]
        row["per_round_delay_p95"] = [r["delay_p95_ms"] for r in group]
        merged.append(row)
    return merged


def table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'profile / target':<26}" + "".join(f"{name:>13}" for name, _, _ in COLS)]
    for profile in dict.fromkeys(r["profile"] for r in rows):
        by_target = {r["target"]: r for r in rows if r["profile"] == profile}
        for row in by_target.values():
            lines.append(f"{profile + ' ' + row['target'] + ' x' + str(row['streams']):<26}"
                         + "".join(f"{fmt.format(row[key]):>13}" for _, key, fmt in COLS))
        if "ours" in by_target and "janus" in by_target:
            ours, janus = by_target["ours"], by_target["janus"]
            ratio = [f"{ours[k] / janus[k]:.2f}x" if k not in NO_RATIO and janus[k] else ""
                     for _, k, _ in COLS]
            lines.append(f"{profile + ' ours/janus':<26}" + "".join(f"{r:>13}" for r in ratio))
    lines.append("per round (%core/stream | CPU us per forwarded packet | delay p95 ms):")
    for row in rows:
        lines.append(f"  {row['profile']} {row['target']:<6} {row['per_round_cpu_per_stream']} | "
                     f"{row['per_round_us_per_packet']} | {row['per_round_delay_p95']}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--publishers", type=int, default=2)
    parser.add_argument("--subscribers", type=int, default=3)
    parser.add_argument("--profiles", default="320x240@15:400,640x360@30:1200",
                        help="WxH@FPS:KBPS,... (KBPS: the publishers' fixed VP8 bitrate)")
    parser.add_argument("--targets", default="ours,janus")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3, help="runs of every (profile, target); medians reported")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--content", choices=["noise", "static"], default="noise",
                        help="below the marks: changing random blocks (encoder near its target bitrate) "
                             "or flat grey as webrtc_rig (tiny frames)")
    parser.add_argument("--aiortc-remb", action="store_true",
                        help="our SFU runs aiortc's delay-based REMB estimator on the publishers' video (the "
                             "bench before it matched SfuPeer, which reports a fixed ceiling)")
    parser.add_argument("--profile-ours", default="", metavar="PATH",
                        help="cProfile (CPU time) our SFU process into PATH.<pid> (pstats, one file per run)")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-ours", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_ours:  # our SFU process, a child of --inside
        use_bench_netns()
        host_addresses(["127.0.0.1"])
        if not args.profile_ours:
            asyncio.run(production_sfu_server(args.aiortc_remb).serve())
            return
        import cProfile

        profile = cProfile.Profile(time.process_time)  # CPU, not wall: a send that wakes a client and gets
        # preempted by it would otherwise look like the cost
        try:
            profile.runcall(asyncio.run, production_sfu_server(args.aiortc_remb).serve())
        finally:
            profile.dump_stats(f"{args.profile_ours}.{os.getpid()}")
        return
    if args.inside:
        global CONTENT, AIORTC_REMB, PROFILE_OURS
        CONTENT, AIORTC_REMB, PROFILE_OURS = args.content, args.aiortc_remb, args.profile_ours
        use_bench_netns()
        emit_result(asyncio.run(inside(args)))
        return
    if os.geteuid() != 0:
        raise SystemExit("needs root (unshare -n and ip link add veth inside the new namespace)")
    for p in args.profiles.split(","):
        parse_profile(p)
    try:
        result, _ = run_in_netns(
            [str(THIS), *sys.argv[1:], "--inside"], setup=NETNS_SETUP,
            timeout=args.rounds * len(args.profiles.split(",")) * 2 * (args.seconds + args.warmup + 90))
    except AssertionError as failure:
        raise SystemExit(f"benchmark failed: {failure}") from None
    print(f"{args.publishers} publishers x {args.subscribers} subscribers, VP8 ({args.content} content, fixed "
          f"publisher bitrate; our REMB: {'aiortc estimator' if args.aiortc_remb else 'fixed, as SfuPeer'}), {args.seconds:.0f} s measured after {args.warmup:.0f} s warm-up per target, "
          f"median of {args.rounds} round(s) (order alternates); CPU in % of one core (SFU process only)")
    print(table(median_rows(result["rows"])))
    print("%core/stream = SFU process CPU while forwarding / forwarded streams (publishers x subscribers); CPU us/pkt = "
          "that CPU / RTP packets forwarded (publishers' packets sent x subscribers); idle = "
          "the same process with no peer; delay = send time drawn in the frame to decode at the subscriber; "
          "frames % = decoded / sent in the window (frame counters); kbps, pkt/s: one publisher's RTP")
    for error in result["errors"]:
        print("FAILED:", error)
    print(json.dumps(result["rows"]))
    if result["errors"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
