"""Layer-switch time after a bandwidth drop (issue 16; goal: the weak subscriber switches within 1 s).

The rig of tests/browser/test_sfu_simulcast_tc.py: the all-in-one and two Chromium pages (Alice
publishes a fake 1280x720 camera, Bob watches) in one network namespace, Carol's Chromium in a second
one joined by a veth pair whose SFU end gets a tbf (tests/support/netns_link.py). Each repetition:
wait until Carol decodes what Bob decodes, throttle her link to ``--kbit`` (``tc qdisc replace``),
watch ``--window`` seconds, lift the limit (``tc qdisc del``), watch until she is back. Carol's page
samples getStats() every 100 ms (inbound-rtp frameWidth, framesDecoded); the times are read off
those samples against the wall-clock time tc returned.

Per repetition and run:
  down    time from the drop to Carol decoding a lower layer (a frame narrower than before the drop)
  sfu     time from the drop to the SFU reporting a lower layer or a bandwidth pause for her
          (GET /api/v1/media/stats polled every ~0.2 s: the decision, before any keyframe and decode)
  stall   the longest time without a new decoded frame during the window (the freeze Carol sees)
  fps     Carol's frame rate over the second half of the window (before the drop: ``fps_before``)
  up      time from lifting the limit to Carol decoding Bob's width again at >= 60 % of Bob's rate
Two runs in the same process: ``simulcast`` (Alice publishes q/h/f) and the baseline ``single``
(the same page made to publish one encoding: the drop can only freeze or slow Carol's one stream).
Median and max over ``--repeat`` repetitions.

``--publisher-remb off`` is a diagnostic, not the product: the SFU process starts with a sitecustomize
that turns aiortc's receive-side REMB off. It was needed while that estimator held the publisher's
Chromium to its lowest layer on a loaded machine; the SFU now sends publishers a fixed REMB at
APP_MEDIA_PUBLISH_MAX_BPS instead (aiortc_internals.FixedRemb), so both settings should publish every
layer (see the run's "Alice publishes" line).

``tc``: the tbf's counters (sent, dropped) at the end of the window, before the lift resets them.
``--dump FILE`` keeps the raw result with Carol's getStats samples (frame width, frames and keyframes
decoded, PLIs and NACKs she sent) around each drop; ``--no-baseline`` skips the ``single`` run (a
diagnostic: figures without their baseline).

``python bench/sfu_layers.py --repeat 5 --kbit 300`` (root: it re-runs itself under ``unshare -n``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.support.netns import emit_result, run_in_netns  # noqa: E402

STEADY_SHARE = 0.6  # "decoding normally": at least this share of the frame rate before the drop


def rate(samples: list[dict[str, Any]]) -> float:
    if len(samples) < 2 or samples[-1]["t"] == samples[0]["t"]:
        return 0.0
    return (samples[-1]["fd"] - samples[0]["fd"]) / ((samples[-1]["t"] - samples[0]["t"]) / 1000)


def first_steady(samples: list[dict[str, Any]], since_ms: float, fps: float, width: Any = None) -> float | None:
    """Seconds from ``since_ms`` to the start of the first 1 s of samples decoding at ``fps`` or more (and
    only frames ``width(w)`` accepts, if given)."""
    for i, s in enumerate(samples):
        window = [x for x in samples[i:] if x["t"] <= s["t"] + 1000]
        if window[-1]["t"] - s["t"] < 900:
            break
        if rate(window) >= fps and (width is None or all(width(x["w"]) for x in window if x["fd"] > s["fd"])):
            return (s["t"] - since_ms) / 1000
    return None


def first_narrower(samples: list[dict[str, Any]], since_ms: float, width: int) -> float | None:
    previous = None
    for s in samples:
        if previous is not None and s["fd"] > previous["fd"] and 0 < s["w"] < width:
            return (s["t"] - since_ms) / 1000
        previous = s
    return None


def longest_stall(samples: list[dict[str, Any]], since_ms: float, until_ms: float) -> float:
    last, worst = since_ms, 0.0
    previous = None
    for s in samples:
        if previous is not None and s["fd"] > previous["fd"]:
            worst = max(worst, s["t"] - last)
            last = s["t"]
        previous = s
    return max(worst, until_ms - last) / 1000


def carol_layer(server: dict[str, Any]) -> tuple[int | None, bool] | None:
    """(layer, paused for bandwidth) of Alice's camera as the SFU forwards it to Carol."""
    carol = server.get("carol") or {}
    active = [v for v in carol.get("video_out", []) if v.get("bitrate_bps") or v.get("paused_for_bandwidth")]
    if not active:
        return None
    return active[0].get("layer"), bool(active[0].get("paused_for_bandwidth"))


def repetition(rig: Any, kbit: int, window: float) -> dict[str, Any]:
    from tests.browser.test_web_client import StepFailed

    # Steady first: Carol decodes Bob's width at Bob's rate for a second or more.
    rig.wait("Carol decodes what Bob decodes before the drop",
             lambda: rig.decoding_at(rig.carol, lambda w: w == rig.latest(rig.bob).get("w"), 1.5,
                                     fps=STEADY_SHARE * max(rig.fps(rig.bob, 1.5), 5.0)), 40.0)
    before = rig.samples(rig.carol, time.time() - 2.0)
    width, fps_before = before[-1]["w"], rate(before)
    layer_before = carol_layer(rig.server())
    drop_ms = time.time() * 1000
    rig.far.limit(kbit)
    decided = None  # the SFU's own view, polled: Carol's layer lower than before, or her video paused
    while time.time() * 1000 < drop_ms + window * 1000:
        now = carol_layer(rig.server())
        if decided is None and now is not None and layer_before is not None and (
                now[1] or (now[0] is not None and layer_before[0] is not None and now[0] < layer_before[0])):
            decided = (time.time() * 1000 - drop_ms) / 1000
        time.sleep(0.2)
    sfu_under = rig.server().get("carol")
    tc_under = rig.far.stats()  # before the lift: the lift resets the counters
    lift_ms = time.time() * 1000
    rig.far.lift()
    under = rig.samples(rig.carol, drop_ms / 1000)
    under = [s for s in under if s["t"] <= lift_ms]
    try:
        rig.wait("Carol back on Bob's width after the limit is lifted",
                 lambda: rig.decoding_at(rig.carol, lambda w: w == rig.latest(rig.bob).get("w"), 1.0,
                                         after=lift_ms / 1000, fps=STEADY_SHARE * rig.fps(rig.bob, 1.0)), 30.0)
        time.sleep(1.2)  # samples past the first good second, for first_steady
    except StepFailed:
        pass
    after = rig.samples(rig.carol, lift_ms / 1000)
    bob_width = rig.latest(rig.bob).get("w")
    return {"width_before": width, "fps_before": round(fps_before, 1),
            "widths_under": sorted({s["w"] for s in under if s["w"]}),
            "down": first_narrower(under, drop_ms, width),
            "sfu_down": round(decided, 2) if decided is not None else None,
            "stall": round(longest_stall(under, drop_ms, lift_ms), 2),
            "fps_under": round(rate([x for x in under if x["t"] >= drop_ms + window * 500]), 1),
            "kbps_before": round((before[-1]["bytes"] - before[0]["bytes"]) * 8 / (before[-1]["t"] - before[0]["t"])),
            "up": first_steady(after, lift_ms, STEADY_SHARE * fps_before, lambda w: w == bob_width),
            "tc": tc_under.splitlines()[1].strip() if tc_under.count("\n") else "",
            "sfu_under": sfu_under,
            "raw": {"drop_ms": drop_ms, "lift_ms": lift_ms, "carol": rig.samples(rig.carol, drop_ms / 1000 - 3.0)}}


NO_REMB = """import aiortc.rate
aiortc.rate.RemoteBitrateEstimator.add = lambda self, *args, **kwargs: None  # bench/sfu_layers.py --publisher-remb off
"""


def run(layers: str, repeat: int, kbit: int, window: float, remb: str) -> dict[str, Any]:
    import tempfile

    from tests.browser.test_sfu_simulcast_tc import Rig

    with ExitStack() as stack:
        env = {}
        if remb == "off":
            hook = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            (hook / "sitecustomize.py").write_text(NO_REMB)
            env["PYTHONPATH"] = os.pathsep.join([str(hook), os.environ.get("PYTHONPATH", "")])
        rig = Rig(stack, layers, f"allinone-bench-layers-{layers}.log", env)
        rig.meet()
        reps = []
        from tests.browser.test_web_client import StepFailed

        for _ in range(repeat):
            try:
                reps.append(repetition(rig, kbit, window))
            except StepFailed as exc:  # no steady picture to start from: the repetition is reported, not timed
                rig.far.lift()
                reps.append({"error": str(exc)[:600], "sfu": rig.server()})
            print(f"{layers}: {({k: v for k, v in reps[-1].items() if k != 'raw'})}", file=sys.stderr, flush=True)
        return {"published": rig.published(), "repetitions": reps}


def inside(args: argparse.Namespace) -> dict[str, Any]:
    from tests.browser.test_sfu_simulcast_tc import client_publishes_simulcast, sfu_has_simulcast

    own = sfu_has_simulcast() and not client_publishes_simulcast()
    runs = {"simulcast": run("simulcast" if own else "as-is", args.repeat, args.kbit, args.window, args.publisher_remb)}
    if not args.no_baseline:
        runs["single"] = run("single", args.repeat, args.kbit, args.window, args.publisher_remb)
    return {"runs": runs, "load": [round(x, 1) for x in os.getloadavg()], "sfu_simulcast": sfu_has_simulcast(), "client_simulcast": client_publishes_simulcast(),
            "kbit": args.kbit, "window": args.window, "publisher_remb": args.publisher_remb}


def figure(values: list[float | None], window: float) -> str:
    if not values:
        return "-"
    missing = sum(v is None for v in values)
    got = [v for v in values if v is not None]
    if not got:
        return f"never (within {window:.0f} s) x{missing}"
    text = f"median {statistics.median(got):.2f} s, max {max(got):.2f} s"
    return text + (f", never x{missing}" if missing else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--kbit", type=int, default=300)
    parser.add_argument("--window", type=float, default=8.0, help="seconds under the limit per repetition")
    parser.add_argument("--publisher-remb", choices=("aiortc", "off"), default="aiortc",
                        help="off: a diagnostic run with aiortc's receive-side REMB turned off in the SFU process")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the single-layer baseline run (a diagnostic: the figures then have no baseline)")
    parser.add_argument("--dump", help="write the raw result (with Carol's getStats samples) to this JSON file")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        emit_result(inside(args))
        return
    result, _ = run_in_netns([str(Path(__file__).resolve()), *sys.argv[1:], "--inside"], timeout=1200)
    if args.dump:
        Path(args.dump).write_text(json.dumps(result))
    for data in result["runs"].values():
        for r in data["repetitions"]:
            r.pop("raw", None)
    print(f"Layer switch after a drop to {result['kbit']} kbit/s (tbf on the weak subscriber's link), "
          f"{args.repeat} repetitions, {result['window']:.0f} s under the limit; load average at the end "
          f"{result['load']}; publisher REMB: {result['publisher_remb']}; SFU simulcast: "
          f"{result['sfu_simulcast']}, web client simulcast: {result['client_simulcast']}")
    for name, data in result["runs"].items():
        failed = [r for r in data["repetitions"] if "error" in r]
        reps = [r for r in data["repetitions"] if "error" not in r]
        layers = ", ".join(f"{p['rid'] or '-'} {p['w']}x{p['h']}" for p in data["published"])
        print(f"\n{name}: Alice publishes [{layers}]; {len(reps)} repetitions timed, {len(failed)} without a steady "
              f"start")
        for r in failed:
            print(f"  not timed: {r['error'][:300]} SFU {r['sfu']}")
        print(f"  down   (drop -> a narrower frame decoded):     {figure([r['down'] for r in reps], result['window'])}")
        print(f"  sfu    (drop -> the SFU forwards a lower layer or pauses, polled): "
              f"{figure([r['sfu_down'] for r in reps], result['window'])}")
        print(f"  stall  (longest time without a new frame):     {figure([r['stall'] for r in reps], result['window'])}")
        print(f"  up     (lift -> Bob's width, >= 60 % rate):    {figure([r['up'] for r in reps], 30)}")
        print(f"  widths under the limit: {[r['widths_under'] for r in reps]}; frames/s before "
              f"{[r['fps_before'] for r in reps]}, in the window's second half {[r['fps_under'] for r in reps]}; "
              f"Carol's kbit/s before {[r['kbps_before'] for r in reps]}")
        print(f"  the SFU about Carol at the end of each window: {[r['sfu_under'] for r in reps]}")
    downs = [r.get("down") for r in result["runs"]["simulcast"]["repetitions"]]
    ok = bool(downs) and all(d is not None and d <= 1.0 for d in downs)
    print(f"\ngoal (switch within 1 s of a drop, every repetition): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
