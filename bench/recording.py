"""Recording benchmark: server CPU per recorded stream, ours (encoded frames, no decode) against aiortc's
MediaRecorder (decode + encode), and the forwarding delay with and without recording, in one run.

One SFU process (tests/support/webrtc_rig.py's forward-mode SFU, extended here with recording ops;
its CPU is os.times() read by that process) receives P publishers (marked VP8 video + Opus audio,
see tests/support/webrtc_rig.py) and goes through these phases, each measured for ``--seconds``:

1. ``receive``: P tapped publishers (the SFU's forwarding receive path), nobody subscribed;
2. ``receive + ours``: the same, each publisher recorded by a StayWriter (the RoomRecorder's
   per-member writer: tap, WebM muxer, chunk uploads to a directory blob store);
3. ``forward``: one subscriber per publisher added, recording stopped: frame delay p50/p95 (send time
   drawn into the frame, read after decoding at the subscriber);
4. ``forward + ours``: the same with recording on again;
5. ``receive + MediaRecorder``: P new publishers on plain aiortc receivers (aiortc decodes them),
   each recorded by ``aiortc.contrib.media.MediaRecorder`` into WebM (VP8 + Opus re-encoded).

After phase 2 the files are finished (their cost is printed) and the after-meeting step
(adapters/ffmpeg/processor.py) makes the meeting file of them: ffmpeg's CPU from its ``-benchmark``.

Cost per recorded stream (one member's video + audio) = (phase - its baseline) / P: ours is
(2 - 1) / P, MediaRecorder (5 - 1) / P. Extra forwarding delay = delay(4) - delay(3).
Goal: ours < 1% of a core per stream and no change to the forwarding delay.

It re-runs itself under ``unshare -n`` (root; loopback only).
``python bench/recording.py --publishers 2 --seconds 10``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
THIS = Path(__file__).resolve()
sys.path.insert(0, str(ROOT))
from tests.support.netns import allow_loopback_candidates, emit_result, run_in_netns  # noqa: E402


# --- the SFU process ---------------------------------------------------------------------------------

def make_server() -> Any:
    from tests.support.webrtc_rig import SfuServer

    class RecordingBenchServer(SfuServer):
        def __init__(self) -> None:
            super().__init__("forward")
            self.scratch = Path(tempfile.mkdtemp(prefix="bench-recording-"))
            self.writers: list[Any] = []
            self.recorders: list[Any] = []
            self.plain: dict[str, list[Any]] = {}
            self.finished: tuple[Any, list[Any]] | None = None  # (blob store, files) of the last stop

        async def op_publish_plain(self, req: dict[str, Any]) -> dict[str, Any]:
            from aiortc import RTCSessionDescription

            from tests.support.webrtc_rig import peer_connection

            pc = self.pcs[req["peer"]] = peer_connection()
            tracks = self.plain[req["peer"]] = []
            pc.on("track", tracks.append)
            await pc.setRemoteDescription(RTCSessionDescription(req["sdp"], "offer"))
            await pc.setLocalDescription(await pc.createAnswer())
            return {"sdp": pc.localDescription.sdp}

        async def op_record_ours(self, req: dict[str, Any]) -> dict[str, Any]:
            from adapters.webrtc.stay_writer import StayWriter
            from adapters.localfs.blobs import LocalDirectoryBlobStore

            blobs = LocalDirectoryBlobStore(self.scratch / f"ours-{len(self.writers)}")
            for peer, tracks in self.published.items():
                writer = StayWriter(blobs, "bench", peer, len(self.writers) + 1)  # type: ignore[arg-type]
                for track in tracks:
                    writer.add_track(track)
                self.writers.append(writer)
            return {}

        async def op_stop_ours(self, req: dict[str, Any]) -> dict[str, Any]:
            started = time.monotonic()
            cpu = sum(os.times()[:2])
            files = [await w.finish() for w in self.writers]
            self.finished = (self.writers[0].blobs, [f for f in files if f is not None]) if self.writers else None
            self.writers.clear()
            return {"files": [{"duration_s": f.duration_s, "size": f.size} for f in files if f is not None],
                    "finish_cpu_s": sum(os.times()[:2]) - cpu, "finish_s": time.monotonic() - started}

        async def op_compose(self, req: dict[str, Any]) -> dict[str, Any]:
            """The after-meeting step on the files of the last stop: ffmpeg's own CPU (-benchmark)."""
            from adapters.ffmpeg.processor import FfmpegRecordingProcessor

            assert self.finished is not None
            blobs, files = self.finished
            processor = FfmpegRecordingProcessor(blobs)

            async def progress(fraction: float) -> None: ...

            result = await processor.compose(files, "bench/meeting.webm", progress)
            return {"inputs": len(files), "media_s": result.duration_s, "cpu_s": processor.last_cpu_s,
                    "wall_s": processor.last_wall_s}

        async def op_record_mediarecorder(self, req: dict[str, Any]) -> dict[str, Any]:
            from aiortc.contrib.media import MediaRecorder

            for peer, tracks in self.plain.items():
                recorder = MediaRecorder(str(self.scratch / f"{peer}.webm"))
                for track in tracks:
                    recorder.addTrack(track)
                await recorder.start()
                self.recorders.append(recorder)
            return {}

        async def op_stop_mediarecorder(self, req: dict[str, Any]) -> dict[str, Any]:
            for recorder in self.recorders:
                await recorder.stop()
            self.recorders.clear()
            return {}

        async def op_close_peers(self, req: dict[str, Any]) -> dict[str, Any]:
            for name in req["peers"]:
                await self.pcs.pop(name).close()
                self.published.pop(name, None)
            return {}

    return RecordingBenchServer()


# --- the clients (the scenario process) ----------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))]) if ordered else float("nan")


async def measure(sfu: Any, seconds: float, media: list[Any] | None = None) -> dict[str, Any]:
    before = await sfu.call("stats")
    since = time.monotonic()
    await asyncio.sleep(seconds)
    after = await sfu.call("stats")
    row = {"cpu_pct": (after["cpu_s"] - before["cpu_s"]) / (after["at"] - before["at"]) * 100}
    if media:
        delays = [d for m in media for d in m.summary(since)["delays_ms"]]
        row.update(delay_p50_ms=percentile(delays, 0.5), delay_p95_ms=percentile(delays, 0.95),
                   fps=sum(m.summary(since)["fps"] for m in media) / len(media))
    return row


async def inside(args: argparse.Namespace) -> dict[str, Any]:
    from aiortc import AudioStreamTrack

    from tests.support.webrtc_rig import MarkedVideoTrack, ReceivedMedia, SfuProcess

    class BenchSfu(SfuProcess):
        async def __aenter__(self) -> BenchSfu:
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable, str(THIS), "--serve", stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, env=dict(os.environ))
            return self

    async def publish_plain(sfu: Any, peer: str) -> Any:
        from aiortc import RTCSessionDescription

        from tests.support.webrtc_rig import connected, peer_connection

        pc = peer_connection()
        for track in (MarkedVideoTrack(args.fps), AudioStreamTrack()):
            pc.addTransceiver(track, direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        reply = await sfu.call("publish_plain", peer=peer, sdp=pc.localDescription.sdp)
        await pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "answer"))
        await connected(pc)
        return pc

    p, seconds = args.publishers, args.seconds
    phases: dict[str, dict[str, Any]] = {}
    async with BenchSfu("forward") as sfu:
        pubs = [await sfu.publish(f"pub{i}", MarkedVideoTrack(args.fps), AudioStreamTrack()) for i in range(p)]
        await asyncio.sleep(args.warmup)
        phases["receive"] = await measure(sfu, seconds)
        await sfu.call("record_ours")
        await asyncio.sleep(1.0)
        phases["receive + ours"] = await measure(sfu, seconds)
        finished = await sfu.call("stop_ours")
        composed = await sfu.call("compose")
        media = [ReceivedMedia() for _ in range(p)]
        subs = [await sfu.subscribe(f"sub{i}", f"pub{i}", m) for i, m in enumerate(media)]
        await asyncio.sleep(args.warmup)
        for round_ in range(args.rounds):  # alternate, so a drift of the machine's load hits both
            row = await measure(sfu, seconds, media)
            phases.setdefault("forward", {}).setdefault("rounds", []).append(row)
            await sfu.call("record_ours")
            await asyncio.sleep(1.0)
            row = await measure(sfu, seconds, media)
            phases.setdefault("forward + ours", {}).setdefault("rounds", []).append(row)
            await sfu.call("stop_ours")
        for pc in pubs + subs:
            await pc.close()
        await sfu.call("close_peers", peers=[f"pub{i}" for i in range(p)] + [f"sub{i}" for i in range(p)])
        plain = [await publish_plain(sfu, f"plain{i}") for i in range(p)]
        await asyncio.sleep(args.warmup)
        phases["receive (decoding)"] = await measure(sfu, seconds)
        await sfu.call("record_mediarecorder")
        await asyncio.sleep(1.0)
        phases["receive + MediaRecorder"] = await measure(sfu, seconds)
        await sfu.call("stop_mediarecorder")
        for pc in plain:
            await pc.close()
    for name in ("forward", "forward + ours"):
        rounds = phases[name]["rounds"]
        phases[name].update({k: sorted(r[k] for r in rounds)[len(rounds) // 2] for k in rounds[0]})
    return {"phases": phases, "finish": finished, "compose": composed, "publishers": p, "seconds": seconds}


def report(result: dict[str, Any]) -> None:
    phases, p = result["phases"], result["publishers"]
    print(f"\nrecording benchmark: {p} publishers (VP8 320x240 + Opus), {result['seconds']:.0f} s per phase\n")
    print(f"{'phase':28} {'SFU %core':>10} {'delay p50':>10} {'delay p95':>10} {'fps':>6}")
    for name, row in phases.items():
        delays = (f"{row['delay_p50_ms']:>10.0f} {row['delay_p95_ms']:>10.0f} {row['fps']:>6.1f}"
                  if "delay_p50_ms" in row else "")
        print(f"{name:28} {row['cpu_pct']:>10.2f} {delays}")
    ours = (phases["receive + ours"]["cpu_pct"] - phases["receive"]["cpu_pct"]) / p
    ours_fwd = (phases["forward + ours"]["cpu_pct"] - phases["forward"]["cpu_pct"]) / p
    theirs = (phases["receive + MediaRecorder"]["cpu_pct"] - phases["receive"]["cpu_pct"]) / p
    theirs_enc = (phases["receive + MediaRecorder"]["cpu_pct"] - phases["receive (decoding)"]["cpu_pct"]) / p
    delay = phases["forward + ours"]["delay_p50_ms"] - phases["forward"]["delay_p50_ms"]
    delay95 = phases["forward + ours"]["delay_p95_ms"] - phases["forward"]["delay_p95_ms"]
    print(f"\n%core per recorded stream, ours (encoded frames):      {ours:.2f}  (while forwarding: {ours_fwd:.2f})")
    print(f"%core per recorded stream, aiortc MediaRecorder:       {theirs:.2f}  (of which encode + mux: {theirs_enc:.2f})")
    print(f"MediaRecorder / ours:                                  {theirs / max(ours, 0.01):.0f}x")
    print(f"extra forwarding delay while recording: p50 {delay:+.0f} ms, p95 {delay95:+.0f} ms")
    finish = result["finish"]
    print(f"finishing {len(finish['files'])} files (join chunks, stream copy, upload): "
          f"{finish['finish_cpu_s']:.2f} CPU s, {finish['finish_s']:.2f} s, "
          f"{sum(f['duration_s'] for f in finish['files']):.0f} s of media")
    c = result["compose"]
    print(f"meeting file (ffmpeg: {c['inputs']}-video grid + mixed audio, VP8/Opus re-encoded) of {c['media_s']:.1f} s: "
          f"{c['cpu_s']:.2f} CPU s ({c['cpu_s'] / c['media_s']:.2f} CPU s per media second), {c['wall_s']:.2f} s wall")
    print(f"goal < 1% of a core per stream: {'met' if ours < 1.0 else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--publishers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        allow_loopback_candidates()
        asyncio.run(make_server().serve())
    elif args.inside:
        allow_loopback_candidates()
        emit_result(asyncio.run(inside(args)))
    else:
        forwarded = [a for a in sys.argv[1:] if a not in ("--inside", "--serve")]
        result, _ = run_in_netns([str(THIS), "--inside", *forwarded], timeout=600)
        report(result)


if __name__ == "__main__":
    main()
