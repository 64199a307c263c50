"""A 25-person room through our SFU: 5 publishers (camera), 20 subscribers, on this machine, with the SFU
in a process of its own and the clients in others.

Processes, all inside one private network namespace (the script re-runs itself under ``unshare -n``):
- a Redis of the run's own (the SFU's signals to members go on its signal bus, as in production);
- the SFU: a real media node, ``python -m runners.media`` (the SFU's own runner: AiortcMediaServer behind
  the MediaNode gRPC service), APP_MEDIA_HOST_ADDRESSES=127.0.0.1;
- client processes, each its own event loop: client 0 holds the publishers, the others split the
  subscribers (``--clients``, default 3: 5 publishers | 10 subscribers | 10 subscribers). A client sends
  offers/answers to the node over gRPC and reads the node's offers/answers from the Redis bus.

Everyone receives every camera but its own (the SFU's room), so the 5+20 room forwards 5*4 + 20*5 = 120
video streams; with ``--last-n N`` each member gets N of them. Media: a MarkedVideoTrack (320x48 at
``--fps``; frame counter and CLOCK_MONOTONIC send time drawn into the picture, tests/support/webrtc_rig.py).
Per stream (publisher -> receiving member) over the same ``--seconds`` window in every process:
- received frame rate (complete frames) against the publisher's sent frame rate in that window;
- one-way delay: send time in the picture -> decoded at the receiver (same host, same clock), p50/p95:
  includes the publisher's encoder, the SFU hop and the receiver's jitter buffer and decoder;
- loss: frames missing from the counter sequence, and RTP packets lost (the receiver's inbound-rtp).
Decoding 100+ streams would make the clients the bottleneck on 2 cores, so each member decodes ONE
stream (publisher ``1 + n % P``, so every publisher is decoded by several members) and counts the others
as complete encoded frames (the SFU's frame assembler in place of aiortc's jitter buffer): delay and
missing frames come from the decoded streams, frame rate and RTP loss from all (``--decode-all``: all
decoded).
SFU: CPU of the node's process (utime+stime from /proc/<pid>/stat) over the window, minus its idle CPU
(measured before anyone joined), per forwarded stream (the node's confero_sfu_streams gauge).

Baseline in the same run (same processes and code): a 2-person room (1 publisher, 1 subscriber: one
stream); the 25-person figures are printed with their ratio to it.  ``--last-n 4`` adds the 25-person
room with last-N 4.  ``BENCH_SFU_PROFILE=1`` (or a path to keep the profile at) runs the node of the
25-person room under cProfile and prints where it spends its time (by function and by file).

``python bench/sfu_room25.py [--publishers 5] [--subscribers 20] [--clients 3] [--seconds 10] [--fps 15]
[--last-n 0]`` (root: it makes the namespace).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
THIS = Path(__file__).resolve()
sys.path.insert(0, str(ROOT))
from tests.support.netns import emit_result, run_in_netns  # noqa: E402

ROOM = "00000000-0000-4000-8000-0000000025aa"
TICKS = os.sysconf("SC_CLK_TCK")
SETTLE = 120.0  # bound of every wait for processes and connections (never a timing assertion)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))]) if ordered else float("nan")


def user_id(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def proc_cpu(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


# --- a client process --------------------------------------------------------------------------------

class Member:
    """One participant: its peer connection to the SFU (max-bundle), one offer, an answer to each SFU
    offer; what it decodes, filed by the publisher the SFU names in the m-line's msid now."""

    def __init__(self, name: str, uid: str, publish: bool, fps: int, media: Any, decode: str | None = None) -> None:
        from aiortc import RTCConfiguration, RTCPeerConnection
        from aiortc.rtcconfiguration import RTCBundlePolicy

        self.name, self.user_id, self.publish, self.fps, self.media = name, uid, publish, fps, media
        self.decode = decode  # the publisher whose pictures it decodes ("all": every one); the rest are counted
        self.decoded: set[str] = set()  # publishers whose stream it decodes here
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._state)
        self.states: list[str] = []
        self.video: dict[str, list[tuple[int, int, float]]] = {}  # publisher user id -> (counter, delay ms, at)
        self.receivers: dict[str, Any] = {}  # publisher user id -> its receiver here
        self.track: Any = None
        self._msids: dict[str, str] = {}  # mid -> msid of the SFU's latest description (aiortc's
        # remoteDescription would serialize the whole SDP at each read)
        self._lock = asyncio.Lock()
        self._answer: asyncio.Future[str] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    def _state(self) -> None:
        self.states.append(self.pc.connectionState)

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def join(self) -> None:
        from aiortc import RTCSessionDescription

        from adapters.webrtc.sdp import msid_of

        from tests.support.sfu_room import small_video

        async with self._lock:
            if self.publish:
                self.track = small_video(self.fps)
                self.pc.addTransceiver(self.track, direction="sendrecv")
            else:  # a member that only watches: its one offer must still have a section
                self.pc.addTransceiver("audio", direction="recvonly")
            await self.pc.setLocalDescription(await self.pc.createOffer())
            self._answer = asyncio.get_running_loop().create_future()
            await self.media.signal(ROOM, self.user_id, "offer", {"sdp": self.pc.localDescription.sdp})
            sdp = await asyncio.wait_for(self._answer, SETTLE)
            self._msids = msid_of(sdp)
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp, "answer"))

    def on_signal(self, kind: str, sdp: str | None) -> None:
        if kind == "answer" and self._answer is not None and not self._answer.done():
            self._answer.set_result(sdp or "")
        elif kind == "offer" and sdp:
            self.spawn(self._renegotiate(sdp))

    async def _renegotiate(self, sdp: str) -> None:
        from aiortc import RTCSessionDescription

        from adapters.webrtc.sdp import msid_of

        async with self._lock:
            self._msids = msid_of(sdp)
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
            await self.pc.setLocalDescription(await self.pc.createAnswer())
            answer = self.pc.localDescription.sdp
        await self.media.signal(ROOM, self.user_id, "answer", {"sdp": answer})

    def publisher_of(self, receiver: Any) -> str | None:
        transceiver = next((t for t in self.pc.getTransceivers() if t.receiver is receiver), None)
        if transceiver is None or transceiver.mid is None:
            return None
        msid = self._msids.get(transceiver.mid, "")
        return msid.split(" ")[0] if msid else None

    def _on_track(self, track: Any) -> None:
        from adapters.webrtc.forwarding import PublishedTrack

        receiver = next(t.receiver for t in self.pc.getTransceivers() if t.receiver.track is track)
        if track.kind != "video":
            return
        publisher = self.publisher_of(receiver)
        if self.decode == "all" or publisher == self.decode:
            self.spawn(self._consume(receiver, track))
            return
        # counted as complete encoded frames (the SFU's own frame assembler in place of aiortc's jitter
        # buffer, so nothing is decoded): frame rate and RTP loss, no picture marks
        PublishedTrack.tap(receiver).observers.append(lambda frame: self._counted(receiver))

    def _counted(self, receiver: Any) -> None:
        publisher = self.publisher_of(receiver)
        if publisher is not None:
            self.receivers[publisher] = receiver
            self.video.setdefault(publisher, []).append((-1, -1, time.monotonic()))

    async def _consume(self, receiver: Any, track: Any) -> None:
        from aiortc.mediastreams import MediaStreamError

        from tests.support.webrtc_rig import read_marks

        try:
            while True:
                frame = await track.recv()
                arrival = time.monotonic()
                publisher = self.publisher_of(receiver)
                if publisher is None:
                    continue
                self.receivers[publisher] = receiver
                self.decoded.add(publisher)
                counter, sent = read_marks(frame)
                self.video.setdefault(publisher, []).append(
                    (counter, (int(arrival * 1000) - sent) % (1 << 40), arrival))
        except MediaStreamError:
            pass

    async def rtp(self) -> dict[str, tuple[int, int]]:
        """Per publisher: (packets received, packets lost) of its stream here (inbound-rtp)."""
        out = {}
        for publisher, receiver in list(self.receivers.items()):
            for stat in (await receiver.getStats()).values():
                if stat.type == "inbound-rtp":
                    out[publisher] = (stat.packetsReceived, stat.packetsLost)
        return out

    async def close(self) -> None:
        await self.pc.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def client(args: argparse.Namespace) -> None:
    """Joins this process's members, says READY once each receives every camera it expects, then
    measures the window it is told (``measure T0 T1`` on stdin) and prints its RESULT; ``quit`` ends it."""
    from redis.asyncio import Redis

    from adapters.grpc.client import CallPolicy
    from adapters.grpc.media import GrpcMediaServer
    from adapters.redis.signal_bus import RedisSignalBus
    from domain.rooms.events import SignalSent
    from domain.shared.ids import MeetingId
    from tests.support.netns import allow_loopback_candidates

    allow_loopback_candidates()
    media = GrpcMediaServer.to(args.grpc, token=args.token, policy=CallPolicy(timeout=60.0))
    redis = Redis.from_url(args.redis)
    bus = RedisSignalBus(redis)
    members: dict[str, Member] = {}
    for spec in args.members.split(","):
        role, n = spec.split(":")
        uid = user_id(int(n))
        # each member decodes one publisher's pictures (in turn: every publisher is decoded by someone),
        # or all of them with --decode-all
        watched = "all" if args.decode_all else user_id(1 + int(n) % args.publishers)
        members[uid] = Member(f"{role}{n}", uid, role == "pub", args.fps, media, watched)

    async def on_event(event: Any) -> None:
        if isinstance(event, SignalSent) and event.to in members:
            members[event.to].on_signal(event.kind.value, event.sdp)

    reader = asyncio.get_running_loop().connect_read_pipe
    stdin = asyncio.StreamReader()
    await reader(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    async with bus.listen(MeetingId(ROOM), on_event):
        for m in members.values():
            await m.join()
        deadline = time.monotonic() + SETTLE
        while not all(len(m.video) >= args.expect and all(len(v) >= 3 for v in m.video.values())
                      for m in members.values()):
            if time.monotonic() > deadline:  # measured anyway; the result says who lacked what
                break
            await asyncio.sleep(0.1)
        not_ready = {m.name: (m.pc.connectionState, sorted(k[-3:] for k in m.video))
                     for m in members.values() if len(m.video) < args.expect}
        print("READY", flush=True)
        line = (await stdin.readline()).decode().split()
        t0, t1 = float(line[1]), float(line[2])
        cpu = []
        await asyncio.sleep(max(0.0, t0 - time.monotonic()))
        sent0 = {uid: m.track.counter for uid, m in members.items() if m.track is not None}
        rtp0 = {uid: await m.rtp() for uid, m in members.items()}
        cpu.append(proc_cpu(os.getpid()))
        await asyncio.sleep(max(0.0, t1 - time.monotonic()))
        sent1 = {uid: m.track.counter for uid, m in members.items() if m.track is not None}
        rtp1 = {uid: await m.rtp() for uid, m in members.items()}
        cpu.append(proc_cpu(os.getpid()))
        wall = t1 - t0
        streams = []
        for uid, m in members.items():
            for publisher, frames in m.video.items():
                window = [f for f in frames if t0 <= f[2] < t1]
                decoded = publisher in m.decoded
                counters = [f[0] for f in window] if decoded else []
                expected = max(counters) - min(counters) + 1 if counters else 0
                before, after = rtp0[uid].get(publisher, (0, 0)), rtp1[uid].get(publisher, (0, 0))
                streams.append({"to": m.name, "from": publisher, "frames": len(window), "fps": len(window) / wall,
                                "decoded": decoded,
                                "frames_missing": expected - len(set(counters)),
                                "delays": [f[1] for f in window] if decoded else [],
                                "rtp_received": after[0] - before[0], "rtp_lost": after[1] - before[1]})
        emit_result({"streams": streams, "sent_fps": {uid: (sent1[uid] - sent0[uid]) / wall for uid in sent1},
                     "cpu_s": cpu[1] - cpu[0], "not_ready": not_ready,
                     "failed": [m.name for m in members.values() if "failed" in m.states or "closed" in m.states]})
        await stdin.readline()  # quit
    for m in members.values():
        await m.close()
    await media.close()
    await redis.aclose()


# --- the orchestrator (inside the namespace) ----------------------------------------------------------

class Node:
    """The media node process (python -m runners.media), optionally under cProfile."""

    def __init__(self, work: Path, redis_url: str, last_n: int, profile: Path | None) -> None:
        from tests.support.process import free_port

        self.http, self.grpc_port = free_port(), free_port()
        self.token = secrets.token_urlsafe(40)
        env = {**os.environ, "APP_ADAPTERS": "memory", "APP_HOST": "127.0.0.1", "APP_REDIS_URL": redis_url,
               "APP_SERVICE_SECRETS": self.token, "APP_JWT_SECRET": secrets.token_urlsafe(40),
               "APP_MEDIA_PORT": str(self.http), "APP_MEDIA_GRPC_PORT": str(self.grpc_port),
               "APP_MEDIA_HOST_ADDRESSES": "127.0.0.1", "APP_MEDIA_LAST_N": str(last_n),
               "APP_MEDIA_MAX_SECTIONS_PER_CONNECTION": "64", "APP_RECORDINGS_DIR": str(work / "recordings"),
               "APP_LOG_LEVEL": "WARNING", "APP_DRAIN_SECONDS": "0.5", "APP_METRICS_PORT": "0"}
        argv = [sys.executable, "-m", "runners.media"]
        if profile:  # cProfile on the process's CPU time (not wall time: other processes share the cores)
            argv = [sys.executable, "-c", "import cProfile, runpy, time\n"
                    "p = cProfile.Profile(time.process_time)\np.enable()\ntry:\n"
                    "    runpy.run_module('runners.media', run_name='__main__', alter_sys=True)\n"
                    f"finally:\n    p.disable()\n    p.dump_stats({str(profile)!r})"]
        self.log = open(work / f"node-{self.http}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + SETTLE
        while True:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the media node did not come up; see {work}")
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{self.base}/health", timeout=1):
                break
            time.sleep(0.1)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http}"

    def gauge(self, name: str) -> dict[str, float]:
        with urllib.request.urlopen(f"{self.base}/metrics", timeout=10) as r:
            lines = r.read().decode().splitlines()
        return {line.split()[0]: float(line.split()[1]) for line in lines if line.startswith(name)}

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class Client:
    def __init__(self, node: Node, redis_url: str, members: list[str], args: argparse.Namespace, expect: int,
                 publishers: int) -> None:
        argv = [sys.executable, str(THIS), "--client", "--grpc", f"127.0.0.1:{node.grpc_port}", "--token", node.token,
                "--redis", redis_url, "--members", ",".join(members), "--fps", str(args.fps),
                "--expect", str(expect), "--last-n", str(args.room_last_n), "--publishers", str(publishers),
                *(["--decode-all"] if args.decode_all else [])]
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=dict(os.environ), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)

    def wait_for(self, prefix: str) -> str:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(prefix):
                return line[len(prefix):].strip()
        raise RuntimeError(f"a client process ended (exit {self.proc.wait()}) before {prefix!r}")

    def tell(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def end(self) -> None:
        with contextlib.suppress(BrokenPipeError):
            self.tell("quit")
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run_room(work: Path, redis_url: str, args: argparse.Namespace, publishers: int, subscribers: int,
             last_n: int, clients: int, profile: Path | None = None) -> dict[str, Any]:
    args.room_last_n = last_n
    node = Node(work, redis_url, last_n, profile)
    procs: list[Client] = []
    try:
        idle0, at0 = proc_cpu(node.proc.pid), time.monotonic()
        time.sleep(args.idle)
        idle = (proc_cpu(node.proc.pid) - idle0) / (time.monotonic() - at0)
        cameras = min(publishers - 1, last_n) if last_n else publishers - 1  # what a publisher receives
        expect_sub = min(publishers, last_n) if last_n else publishers
        pubs = [f"pub:{i + 1}" for i in range(publishers)]
        procs.append(Client(node, redis_url, pubs, args, cameras, publishers))
        procs[0].wait_for("READY")
        subs = [f"sub:{publishers + i + 1}" for i in range(subscribers)]
        groups = [subs[k::max(1, clients - 1)] for k in range(max(1, clients - 1))]
        procs += [Client(node, redis_url, g, args, expect_sub, publishers) for g in groups if g]
        for c in procs[1:]:
            c.wait_for("READY")
        time.sleep(args.warmup)
        t0 = time.monotonic() + 0.5
        t1 = t0 + args.seconds
        for c in procs:
            c.tell(f"measure {t0} {t1}")
        time.sleep(max(0.0, t0 - time.monotonic()))
        cpu0, load0 = proc_cpu(node.proc.pid), os.getloadavg()
        time.sleep(max(0.0, t1 - time.monotonic()))
        cpu1 = proc_cpu(node.proc.pid)
        streams_gauge = node.gauge("confero_sfu_streams")
        results = [json.loads(c.wait_for("RESULT ")) for c in procs]
        sent = {uid: fps for r in results for uid, fps in r["sent_fps"].items()}
        streams = [{**s, "sent_fps": sent.get(s["from"], float("nan"))} for r in results for s in r["streams"]]
        return {"publishers": publishers, "subscribers": subscribers, "last_n": last_n, "clients": len(procs),
                "seconds": t1 - t0, "sfu_cpu_cores": (cpu1 - cpu0) / (t1 - t0), "sfu_idle_cores": idle,
                "sfu_streams": {k.split('"')[1]: v for k, v in streams_gauge.items() if '"' in k},
                "client_cpu_cores": [r["cpu_s"] / (t1 - t0) for r in results],
                "failed": [n for r in results for n in r["failed"]], "streams": streams,
                "not_ready": {k: v for r in results for k, v in r["not_ready"].items()},
                "load_before": load0, "load_after": os.getloadavg()}
    finally:
        for c in procs:
            c.end()
        node.stop()


def median(values: Any) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


def stream_summary(room: dict[str, Any]) -> dict[str, Any]:
    s = room["streams"]
    ratios = [x["fps"] / x["sent_fps"] for x in s if x["sent_fps"]] or [float("nan")]
    delays = [d for x in s for d in x["delays"]]
    video_streams = room["sfu_streams"].get("video", len(s))
    cpu = room["sfu_cpu_cores"] - room["sfu_idle_cores"]
    rtp_total = sum(x["rtp_received"] + x["rtp_lost"] for x in s)
    return {"streams": len(s), "sfu_video_streams": video_streams,
            "fps_median": median(x["fps"] for x in s), "fps_min": min((x["fps"] for x in s), default=float("nan")),
            "sent_fps_median": median(x["sent_fps"] for x in s),
            "ratio_median": median(ratios), "ratio_min": min(ratios),
            "full_rate_streams": sum(r >= 0.95 for r in ratios),
            "delay_p50": percentile(delays, 0.5), "delay_p95": percentile(delays, 0.95),
            "stream_p95_worst": max((percentile(x["delays"], 0.95) for x in s if x["delays"]), default=float("nan")),
            "decoded_streams": sum(1 for x in s if x["decoded"]),
            "frames_missing": sum(x["frames_missing"] for x in s), "frames": sum(x["frames"] for x in s),
            "rtp_loss_pct": 100 * sum(x["rtp_lost"] for x in s) / rtp_total if rtp_total else 0.0,
            "sfu_cpu_cores": room["sfu_cpu_cores"], "sfu_idle_cores": room["sfu_idle_cores"],
            "cpu_pct_per_stream": 100 * cpu / video_streams if video_streams else float("nan"),
            # SFU CPU per frame the members received (load-independent where the frame rate is not)
            "cpu_us_per_frame": 1e6 * cpu * room["seconds"] / max(1, sum(x["frames"] for x in s)),
            "client_cpu_cores": [round(c, 2) for c in room["client_cpu_cores"]], "failed": room["failed"],
            "not_ready": room["not_ready"],
            "load": [round(x, 2) for x in room["load_before"]]}


def profile_summary(path: Path, top: int = 25) -> str:
    import pstats

    stats = pstats.Stats(str(path))
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)  # type: ignore[attr-defined]
    out = [f"SFU process profile (cProfile on CPU time, main thread, whole run): {total:.1f} s"]
    out.append("  top functions by own time:")
    for (file, line, func), (_, calls, tt, ct, _) in rows[:top]:
        out.append(f"    {100 * tt / total:5.1f}%  {tt:7.2f} s own {ct:7.2f} s cum {calls:>9} calls  "
                   f"{short(file)}:{line} {func}")
    by_file: dict[str, float] = {}
    for (file, _, _), (_, _, tt, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        by_file[short(file)] = by_file.get(short(file), 0.0) + tt
    out.append("  own time by file:")
    for file, tt in sorted(by_file.items(), key=lambda kv: kv[1], reverse=True)[:top]:
        out.append(f"    {100 * tt / total:5.1f}%  {tt:7.2f} s  {file}")
    return "\n".join(out)


def short(file: str) -> str:
    for marker in ("site-packages/", "/lib/python3.11/", str(ROOT) + "/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


def inside(args: argparse.Namespace) -> dict[str, Any]:
    from tests.support.distributed import redis_server
    from tests.support.netns import require_private_netns

    require_private_netns()
    profile = os.environ.get("BENCH_SFU_PROFILE", "")  # "1", or where to keep the profile
    with tempfile.TemporaryDirectory(prefix="confero-room25-") as tmp, redis_server(Path(tmp)) as redis_url:
        work = Path(tmp)
        rooms = {"baseline 1+1": run_room(work, redis_url, args, 1, 1, 0, 2)}
        prof = (work / "sfu.prof" if profile == "1" else Path(profile)) if profile else None
        try:
            rooms[f"{args.publishers}+{args.subscribers}"] = run_room(work, redis_url, args, args.publishers,
                                                                      args.subscribers, 0, args.clients, prof)
        finally:
            if prof is not None and prof.exists():
                print(profile_summary(prof), file=sys.stderr, flush=True)
        result = {"rooms": {k: stream_summary(v) for k, v in rooms.items()}, "fps": args.fps,
                  "streams": {k: v["streams"] for k, v in rooms.items()} if os.environ.get("BENCH_JSON") else {}}
        if args.last_n:
            name = f"{args.publishers}+{args.subscribers} last-N {args.last_n}"
            result["rooms"][name] = stream_summary(run_room(work, redis_url, args, args.publishers,
                                                            args.subscribers, args.last_n, args.clients))
        if prof is not None and prof.exists():
            result["profile"] = profile_summary(prof)
        return result


def report(result: dict[str, Any]) -> None:
    rooms = result["rooms"]
    base = rooms["baseline 1+1"]
    print(f"{'room':<24}{'streams':>8}{'fps med/min (sent)':>22}{'full rate':>11}{'delay p50/p95':>16}"
          f"{'worst p95':>10}{'loss frm/rtp':>14}{'SFU cores':>10}{'%/stream':>9}{'us/frame':>9}  clients (cores)")
    for name, r in rooms.items():
        print(f"{name:<24}{r['streams']:>8}{r['fps_median']:>9.1f}/{r['fps_min']:<4.1f}({r['sent_fps_median']:4.1f})"
              f"{r['full_rate_streams']:>6}/{r['streams']:<4}{r['delay_p50']:>8.0f}/{r['delay_p95']:<5.0f}ms"
              f"{r['stream_p95_worst']:>8.0f}ms{r['frames_missing']:>6}/{r['rtp_loss_pct']:<5.2f}%"
              f"{r['sfu_cpu_cores']:>9.2f}{r['cpu_pct_per_stream']:>9.2f}{r['cpu_us_per_frame']:>9.0f}  {r['client_cpu_cores']}")
    for name, r in rooms.items():
        if r is base:
            continue
        print(f"{name} / baseline: per-stream SFU CPU x{r['cpu_pct_per_stream'] / base['cpu_pct_per_stream']:.2f} "
              f"(per frame x{r['cpu_us_per_frame'] / base['cpu_us_per_frame']:.2f}), "
              f"delay p50 x{r['delay_p50'] / base['delay_p50']:.2f}, p95 x{r['delay_p95'] / base['delay_p95']:.2f}, "
              f"received/sent fps median {r['ratio_median']:.2f} (min {r['ratio_min']:.2f}); "
              f"delay from the {r['decoded_streams']} decoded streams"
              + (f"; connections failed: {r['failed']}" if r["failed"] else "")
              + (f"; lacking streams when measured: {r['not_ready']}" if r["not_ready"] else ""))
    idle = ", ".join(f"{r['sfu_idle_cores']:.3f}" for r in rooms.values())
    print(f"SFU idle CPU (before joins): {idle} cores; "
          f"load average at each window's start: {[r['load'] for r in rooms.values()]} on {os.cpu_count()} cores")
    if "profile" in result:
        print(result["profile"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--publishers", type=int, default=5)
    parser.add_argument("--subscribers", type=int, default=20)
    parser.add_argument("--clients", type=int, default=3, help="client processes (one holds the publishers)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--idle", type=float, default=2.0)
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--last-n", type=int, default=0)
    parser.add_argument("--inside", action="store_true")
    parser.add_argument("--client", action="store_true")
    parser.add_argument("--grpc")
    parser.add_argument("--token")
    parser.add_argument("--redis")
    parser.add_argument("--members")
    parser.add_argument("--expect", type=int, default=0)
    parser.add_argument("--decode-all", action="store_true",
                        help="every member decodes every stream (default: one stream each, the rest counted)")
    args = parser.parse_args()
    if args.client:
        asyncio.run(client(args))
        return
    if args.inside:
        emit_result(inside(args))
        return
    result, _ = run_in_netns([str(THIS), *sys.argv[1:], "--inside"], timeout=1800)
    report(result)
    if os.environ.get("BENCH_JSON"):
        print(json.dumps(result))


if __name__ == "__main__":
    main()
