"""A weak subscriber behind a throttled link gets a lower simulcast layer instead of a broken call (issue 16).

Alice publishes a fake 1280x720 camera from Chromium; Bob and Carol watch her in large tiles. Carol's
Chromium runs in a second network namespace joined to the SFU's by a veth pair
(tests/support/netns_link.py); a tbf on the SFU's end throttles what Carol receives. Checked
through getStats() (inbound-rtp frameWidth, framesDecoded, layer switches sampled in the page every
100 ms) and screenshots (artifacts/browser/simulcast-*.png):
  - before the limit both receive the high layer;
  - under the limit Carol decodes the low layer while Bob keeps the high one;
  - once the limit is lifted Carol gets the high layer back.
When the web client publishes one layer only (no simulcast in the build under test), the test
checks the single-layer case instead: Carol's stream degrades under the limit and recovers after.

Run by pytest, this module only reads the record its ``scenario`` made inside ``unshare -n``
(conftest.py explains the pattern). bench/sfu_layers.py times the switches with the same rig.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, CHROMIUM_FLAGS
from tests.browser.test_web_client import (
    PASSWORD,
    Run,
    StepFailed,
    create_meeting,
    join_by_id_with_password,
    join_from_list,
    passed,
    register,
    remote_tile,
)
from tests.support.netns import ROOT, emit_result, require_private_netns, run_module, unshare_available
from tests.support.netns_link import NEAR_IP, LinkedNetns
from tests.support.process import allinone

pytestmark = pytest.mark.timeout(240)

LIMIT_KBIT = 300
TILE_VIEWPORT = {"width": 1600, "height": 900}  # Alice's tile large enough for her full layer
SWITCH_WAIT_S = 20.0  # generous: the benchmark measures the time, the test only needs it to happen
# Up is cautious by design: after the last congestion the estimate stays below it for 10 s (retry_after),
# then grows 25%/s from ~250 kbit/s to what the high layer needs with 15% margin (~9 s), then the layer
# waits 2.5 s (up_hold) and a keyframe: ~22 s; measured 16-28 s on the loaded 2-core machine.
UP_WAIT_S = 45.0
# Chromium would hide host addresses behind mDNS names; the SFU (aioice) cannot resolve them here.
FLAGS = [f for f in CHROMIUM_FLAGS if f != "--allow-loopback-in-peer-connection"] + [
    "--disable-features=WebRtcHideLocalIpsWithMdns"]
LOOPBACK = ["--allow-loopback-in-peer-connection"]

# Before the page's scripts: a 1280x720 fake camera, and the camera's encodings as the run asks
# (window.__layers: "as-is" leaves the web client alone, "simulcast" adds q/h/f where the client sends
# one encoding, "single" strips the client's simulcast encodings: the benchmark's baseline).
PUBLISHER_INIT = """(() => {
  const mode = %r;
  const md = navigator.mediaDevices;
  const gum = md.getUserMedia.bind(md);
  md.getUserMedia = (c) => {
    if (c && c.video) c = {...c, video: {...(typeof c.video === "object" ? c.video : {}),
                                         width: {ideal: 1280}, height: {ideal: 720}}};
    return gum(c);
  };
  const add = RTCPeerConnection.prototype.addTransceiver;
  RTCPeerConnection.prototype.addTransceiver = function (what, init) {
    const camera = typeof what === "object" && what && what.kind === "video" && !/screen/i.test(what.label || "");
    const encodings = init && init.sendEncodings;
    if (camera && mode === "simulcast" && !encodings) {
      init = {...init, sendEncodings: [{rid: "q", scaleResolutionDownBy: 4, maxBitrate: 150000},
                                       {rid: "h", scaleResolutionDownBy: 2, maxBitrate: 500000},
                                       {rid: "f", maxBitrate: 1500000}]};
    } else if (camera && mode === "single" && encodings && encodings.length > 1) {
      const {sendEncodings, ...rest} = init;
      init = rest;
    }
    return add.call(this, what, init);
  };
})();"""

# Sampled in the subscriber's page every 100 ms: the inbound video from one remote person.
SAMPLER_JS = """(name) => {
  if (window.__samples) return true;
  window.__samples = [];
  const tick = async () => {
    const pc = window.confero && window.confero.pc;
    const tile = [...document.querySelectorAll(".tile:not(.self)")]
      .find((t) => t.querySelector(".name")?.textContent === name);
    const track = tile?.querySelector("video")?.srcObject?.getVideoTracks()[0];
    if (!pc || !track) return;
    let best = null, pair = null;
    (await pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video" && s.trackIdentifier === track.id) best = s;
      if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = s;
    });
    if (!best) return;
    window.__samples.push({t: Date.now(), w: best.frameWidth || 0, h: best.frameHeight || 0,
                           fd: best.framesDecoded || 0, kf: best.keyFramesDecoded || 0,
                           fps: best.framesPerSecond || 0, freezes: best.freezeCount || 0,
                           frozen: best.totalFreezesDuration || 0, bytes: best.bytesReceived || 0,
                           lost: best.packetsLost || 0, pli: best.pliCount || 0, nack: best.nackCount || 0,
                           pair: pair && pair.localCandidateId});
    if (window.__samples.length > 6000) window.__samples.splice(0, 1000);
  };
  window.__sampler = setInterval(tick, 100);
  return true;
}"""
SAMPLES_JS = "(since) => (window.__samples || []).filter((s) => s.t >= since)"
ROUTE_JS = """async () => {
  const out = [];
  const stats = await window.confero.pc.getStats();
  stats.forEach((s) => {
    if (s.type !== "candidate-pair" || !s.nominated || s.state !== "succeeded") return;
    const l = stats.get(s.localCandidateId), r = stats.get(s.remoteCandidateId);
    out.push({local: l && (l.address || l.ip), remote: r && (r.address || r.ip)});
  });
  return out;
}"""
PUBLISHED_JS = """async () => {
  const out = [];
  (await window.confero.pc.getStats()).forEach((s) => {
    if (s.type === "outbound-rtp" && s.kind === "video" && (s.rid || (s.framesSent || 0) > 0))
      out.push({rid: s.rid || null, w: s.frameWidth || 0, h: s.frameHeight || 0, sent: s.framesSent || 0,
                bytes: s.bytesSent || 0, target: s.targetBitrate || 0, limited: s.qualityLimitationReason || null});
  });
  return out.sort((a, b) => a.w - b.w);
}"""


def sfu_has_simulcast() -> bool:
    """The SFU of this build receives RID simulcast (the simulcast branch's PublishedTrack.layers)."""
    from adapters.webrtc.forwarding import PublishedTrack

    return hasattr(PublishedTrack, "layers")


def client_publishes_simulcast() -> bool:
    sfu_js = (ROOT / "runners/web/static/sfu.js").read_text()
    return re.search(r"""rid\s*:\s*["']""", sfu_js) is not None


# --- the rig: runs only in the child, inside the private network namespaces ----------------------

class Rig:
    """Alice (publisher) and Bob in our namespace, Carol in the linked one behind the shaped link."""

    def __init__(self, stack: ExitStack, layers: str, log_name: str, env: dict[str, str] | None = None) -> None:
        from playwright.sync_api import sync_playwright

        require_private_netns()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.far = stack.enter_context(LinkedNetns())
        self.profiles = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        env = {"APP_ADAPTERS": "memory", "APP_FAST_PASSWORD_HASHING": "true", "APP_LOG_FORMAT": "text",
               "APP_HOST": "0.0.0.0", "APP_MEDIA_HOST_ADDRESSES": f"127.0.0.1,{NEAR_IP}", **(env or {})}
        self.base = stack.enter_context(allinone(env, ARTIFACTS / log_name))
        self.far_base = self.base.replace("127.0.0.1", NEAR_IP)
        self.pw = stack.enter_context(sync_playwright())
        self.run = Run(self.base)
        self.layers = layers
        self.meeting_id = ""
        self._tokens: dict[str, tuple[str, str]] = {}
        self.alice = self.page("alice", init=PUBLISHER_INIT % layers)
        self.bob = self.page("bob")
        self.carol = self.page("carol", far=True)

    def page(self, who: str, far: bool = False, init: str | None = None) -> Any:
        executable = self.far.chromium_wrapper(self.profiles) if far else shutil.which("chromium")
        context = self.pw.chromium.launch_persistent_context(
            str(self.profiles / who), executable_path=str(executable), headless=True, viewport=TILE_VIEWPORT,
            args=FLAGS if far else [*FLAGS, *LOOPBACK])
        if init:
            context.add_init_script(init)
        page = context.pages[0] if context.pages else context.new_page()
        page.set_default_timeout(15_000)
        log = self.run.console.setdefault(who, [])
        page.on("console", lambda m: log.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: log.append(f"pageerror: {e} {(e.stack or '')[:400]}"))
        page.goto((self.far_base if far else self.base) + "/")
        self.run.pages[who] = page
        return page

    def meet(self) -> str:
        from playwright.sync_api import expect

        register(self.alice, "alice", "Alice")
        register(self.bob, "bob", "Bob")
        register(self.carol, "carol", "Carol")
        meeting_id = self.meeting_id = create_meeting(self.alice, "Weak link")
        join_from_list(self.alice, meeting_id)
        for page in (self.bob, self.carol):
            join_by_id_with_password(page, meeting_id, False)
            expect(remote_tile(page, "Alice")).to_be_visible()
            # Only Alice's picture and voice cross the link: the watchers mute themselves (Carol's page,
            # at http://10.77.0.1, is no secure context: it has no devices and only watches).
            for button in ("#mic-toggle", "#cam-toggle"):
                if page.locator(button).is_enabled():
                    page.click(button)
        for page in (self.bob, self.carol):
            page.evaluate(SAMPLER_JS, "Alice")
        return meeting_id

    def samples(self, page: Any, since: float) -> list[dict[str, Any]]:
        return list(page.evaluate(SAMPLES_JS, since * 1000))

    def latest(self, page: Any) -> dict[str, Any]:
        got = self.samples(page, time.time() - 1.0)
        return got[-1] if got else {}

    def published(self, sending: bool = True) -> list[dict[str, Any]]:
        """Alice's camera encodings: all negotiated ones, or those sending now (frames within 0.4 s)."""
        first = self.alice.evaluate(PUBLISHED_JS)
        if not sending:
            return list(first)
        time.sleep(0.4)
        sent = {p["rid"]: p["sent"] for p in first}
        return [p for p in self.alice.evaluate(PUBLISHED_JS) if p["sent"] > sent.get(p["rid"], p["sent"])]

    def server(self) -> dict[str, Any]:
        """What the SFU says about each watcher (GET /api/v1/media/stats as the host): its bandwidth
        estimate and, per forwarded video, the layer and whether it is paused for bandwidth."""
        def call(path: str, body: dict[str, Any] | None = None, token: str | None = None) -> Any:
            headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
            data = json.dumps(body).encode() if body is not None else None
            with urllib.request.urlopen(urllib.request.Request(self.base + path, data=data, headers=headers),
                                        timeout=5) as reply:
                return json.load(reply)
        try:
            if not self._tokens:
                for name in ("alice", "bob", "carol"):
                    token = call("/api/v1/auth/login", {"username": name, "password": PASSWORD})["access_token"]
                    self._tokens[name] = (token, call("/api/v1/users/me", token=token)["id"])
            names = {uid: name for name, (_, uid) in self._tokens.items()}
            found = call(f"/api/v1/media/stats?room_id={self.meeting_id}", token=self._tokens["alice"][0])
        except Exception as exc:  # evidence only: a failure here must not fail the step
            return {"error": f"{type(exc).__name__}: {exc}"}
        return {names.get(p["user_id"], p["user_id"]): {
            "bandwidth_bps": p.get("bandwidth_bps"),
            "video_out": [{k: t.get(k) for k in ("layer", "paused_for_bandwidth", "bitrate_bps", "active")}
                          for t in p["tracks"] if t["kind"] == "video" and t["direction"] == "outbound"
                          and names.get(t["publisher_id"]) == "alice"],
            "video_in": [{k: t.get(k) for k in ("bitrate_bps", "active")} for t in p["tracks"]
                         if t["kind"] == "video" and t["direction"] == "inbound"]}
            for p in found["participants"]}

    def routes(self) -> dict[str, Any]:
        return {"bob": self.bob.evaluate(ROUTE_JS), "carol": self.carol.evaluate(ROUTE_JS)}

    def wait(self, what: str, check: Any, timeout: float) -> float:
        """Polls ``check()`` (truthy: done) every 100 ms; returns the seconds it took."""
        started, since = time.monotonic(), time.time()
        while not check():
            if time.monotonic() - started > timeout:
                raise StepFailed(f"{what}: not within {timeout:.0f} s; bob {self.latest(self.bob)}, "
                                 f"carol {self.latest(self.carol)}, published {self.published(sending=False)}, "
                                 f"SFU {self.server()}\n{self.far.stats()}\n"
                                 f"carol meanwhile [s, width, frames decoded/s]: {self.timeline(self.carol, since)}")
            time.sleep(0.1)
        return time.monotonic() - started

    def timeline(self, page: Any, since: float) -> list[tuple[float, int, float]]:
        """About one sample a second since ``since``: (seconds after it, frame width, frames decoded per second)."""
        out: list[tuple[float, int, float]] = []
        last = None
        for s in self.samples(page, since):
            if last is None or s["t"] - last["t"] >= 1000:
                fps = 0.0 if last is None else round((s["fd"] - last["fd"]) * 1000 / (s["t"] - last["t"]), 1)
                out.append((round(s["t"] / 1000 - since, 1), s["w"], fps))
                last = s
        return out

    def decoding_at(self, page: Any, width: Any, seconds: float = 1.0, after: float = 0.0,
                    fps: float = 3.0) -> bool:
        """The samples of the last ``seconds`` (none before ``after``, a time.time()) show frames decoded at
        ``fps`` or more, each of a width ``width(w)`` accepts."""
        got = self.samples(page, max(time.time() - seconds, after))
        if len(got) < 3 or got[-1]["t"] - got[0]["t"] < 0.5 * seconds * 1000:
            return False
        rate = (got[-1]["fd"] - got[0]["fd"]) / ((got[-1]["t"] - got[0]["t"]) / 1000)
        return rate >= fps and all(width(s["w"]) for s in got if s["fd"] > got[0]["fd"])

    def fps(self, page: Any, seconds: float) -> float:
        got = self.samples(page, time.time() - seconds)
        if len(got) < 2 or got[-1]["t"] == got[0]["t"]:
            return 0.0
        return (got[-1]["fd"] - got[0]["fd"]) / ((got[-1]["t"] - got[0]["t"]) / 1000)


def decoded_widths(samples: list[dict[str, Any]]) -> list[int]:
    """The frame widths in the order they were decoded (one entry per change)."""
    out: list[int] = []
    for s in samples:
        if s["fd"] and s["w"] and (not out or out[-1] != s["w"]):
            out.append(s["w"])
    return out


def finish(run: Run) -> dict[str, Any]:
    def no_page_errors() -> None:
        bad = {who: [line for line in lines if line.startswith("pageerror")] for who, lines in run.console.items()}
        if any(bad.values()):
            raise StepFailed(f"page errors: {bad}")
    run.step("no_page_errors", no_page_errors)
    return run.record()


def scenario() -> dict[str, Any]:
    for old in ARTIFACTS.glob("simulcast-*.png"):
        old.unlink(missing_ok=True)
    own = sfu_has_simulcast() and not client_publishes_simulcast()
    with ExitStack() as stack:
        rig = Rig(stack, "simulcast" if own else "as-is", "allinone-simulcast.log")
        run = rig.run
        run.timing["mode"] = {"sfu_simulcast": sfu_has_simulcast(), "client_simulcast": client_publishes_simulcast(),
                              "page_adds_encodings": own}
        if run.step("meet", rig.meet) is None:
            return finish(run)
        full: dict[str, int] = {}

        def both_high() -> dict[str, Any]:
            # Alice's encoder ramps up over several seconds (an upper layer starts once her bandwidth estimate,
            # which the SFU's feedback drives, allows it): wait until she sends two layers or more (or her one
            # encoding) and both watchers decode the same width, above her smallest layer (which layer fills
            # the tiles is the SFU's call). Her layers as sent then are in the record.
            def high() -> bool:
                pub = rig.published()
                bob = rig.latest(rig.bob).get("w", 0)
                if not pub or not bob or (len(rig.published(sending=False)) > 1 and len(pub) < 2) or (
                        len(pub) > 1 and bob <= pub[0]["w"]):
                    return False
                full["w"], full["low"] = bob, pub[0]["w"]
                return all(rig.decoding_at(p, lambda w: w == bob, 1.5) for p in (rig.bob, rig.carol))
            seconds = rig.wait("Alice sends two layers and both watchers decode the upper one", high, 45.0)
            run.shot(rig.bob, "simulcast-1-bob-before")
            run.shot(rig.carol, "simulcast-1-carol-before")
            return {"seconds": round(seconds, 2), "published": rig.published(), "routes": rig.routes(),
                    "high": full["w"], "low": full["low"], "bob": rig.latest(rig.bob), "carol": rig.latest(rig.carol),
                    "sfu": rig.server()}
        before = run.step("both_high", both_high)
        if before is None:
            return finish(run)
        layered = len(before["published"]) > 1

        def limited() -> dict[str, Any]:
            route = before["routes"]["carol"]
            if not any(r["local"] == "10.77.0.2" for r in route):
                raise StepFailed(f"Carol's media does not cross the shaped link: {route}")
            since = time.time()
            rig.far.limit(LIMIT_KBIT)
            if layered:  # the low layer, decoded, while Bob keeps the high one
                seconds = rig.wait(f"Carol decodes the low layer ({full['low']} wide) under {LIMIT_KBIT} kbit/s",
                                   lambda: rig.decoding_at(rig.carol, lambda w: 0 < w <= full["low"], after=since),
                                   SWITCH_WAIT_S)
                time.sleep(2.0)  # and stays there, still decoding
                if not rig.decoding_at(rig.carol, lambda w: 0 < w <= full["low"], 2.0):
                    raise StepFailed(f"Carol did not stay on the low layer (decoding, 3 frames/s or more): widths since "
                                     f"the limit {decoded_widths(rig.samples(rig.carol, since))}, now "
                                     f"{rig.latest(rig.carol)}; SFU {rig.server()}")
            else:  # one layer: the weak link visibly hurts (fewer frames, freezes, or a smaller picture)
                time.sleep(8.0)
                seconds = 8.0
            # (Alice's encoder may rescale her layers meanwhile: Bob's stays above the low one)
            if not rig.decoding_at(rig.bob, lambda w: w > full["low"] or not layered, 2.0):
                raise StepFailed(f"Bob lost the high layer meanwhile (or stopped decoding): widths since the limit "
                                 f"{decoded_widths(rig.samples(rig.bob, since))}, now {rig.latest(rig.bob)}; "
                                 f"SFU {rig.server()}")
            run.shot(rig.bob, "simulcast-2-bob-limited")
            run.shot(rig.carol, "simulcast-2-carol-limited")
            carol = rig.samples(rig.carol, since)
            bob = rig.samples(rig.bob, since)
            out = {"seconds": round(seconds, 2), "carol_widths": decoded_widths(carol),
                   "bob_widths": decoded_widths(bob), "carol": carol[-1], "bob": bob[-1], "tc": rig.far.stats(),
                   "sfu": rig.server()}
            if not layered:
                span = (carol[-1]["t"] - carol[0]["t"]) / 1000
                out["carol_fps"] = round((carol[-1]["fd"] - carol[0]["fd"]) / span, 1)
                out["bob_fps"] = round((bob[-1]["fd"] - bob[0]["fd"]) / span, 1)
                worse = (out["carol_fps"] < 0.7 * out["bob_fps"] or carol[-1]["freezes"] > carol[0]["freezes"]
                         or carol[-1]["w"] < full["w"])
                if not worse:
                    raise StepFailed(f"one layer under {LIMIT_KBIT} kbit/s, yet Carol's video did not degrade: {out}")
            return out
        under = run.step("limited", limited)

        def lifted() -> dict[str, Any]:
            since = time.time()
            rig.far.lift()
            # the high layer again, at (nearly) Bob's frame rate
            seconds = rig.wait("Carol decodes the high layer again after the limit is lifted",
                               lambda: rig.decoding_at(rig.carol, lambda w: w == rig.latest(rig.bob).get("w"), 2.0,
                                                       after=since, fps=0.6 * rig.fps(rig.bob, 2.0)),
                               UP_WAIT_S)
            run.shot(rig.carol, "simulcast-3-carol-lifted")
            return {"seconds": round(seconds, 2), "carol_widths": decoded_widths(rig.samples(rig.carol, since)),
                    "carol": rig.latest(rig.carol), "bob": rig.latest(rig.bob), "sfu": rig.server()}
        if under is not None:
            run.step("lifted", lifted)
        run.timing["layered"] = layered

        return finish(run)


# --- the tests: read the record ------------------------------------------------------------------

@pytest.fixture(scope="module")
def simulcast_run() -> dict[str, Any]:
    if not unshare_available():
        pytest.fail("browser tests need root, unshare and ip (iproute2) for a private network namespace")
    if shutil.which("chromium") is None or shutil.which("tc") is None or shutil.which("nsenter") is None:
        pytest.fail("needs Debian's chromium, tc (iproute2) and nsenter (util-linux): make test installs them")
    result, _ = run_module("tests.browser.test_sfu_simulcast_tc", "scenario", timeout=200)
    return result


def test_a_weak_subscriber_gets_the_low_layer_the_other_keeps_the_high_one_and_lifting_the_limit_restores_it(
        simulcast_run):
    before, under, after = passed(simulcast_run, "both_high", "limited", "lifted")
    print(f"mode {simulcast_run['timing']['mode']}, layered {simulcast_run['timing']['layered']}")
    print(f"published {before['published']}")
    print(f"under {LIMIT_KBIT} kbit/s: Carol's widths {under['carol_widths']} (after {under['seconds']} s), "
          f"Bob's {under['bob_widths']}; lifted: Carol's {after['carol_widths']} (after {after['seconds']} s)")
    for path in simulcast_run["screenshots"]:
        print(f"screenshot: {path}")
    assert simulcast_run["timing"]["layered"], (
        "Alice published one encoding only: this build has no simulcast (the single-layer case passed: "
        f"Carol's video degraded under the limit and recovered: {under})")
    low = before["low"]
    assert low in under["carol_widths"] and under["carol"]["w"] == low, under
    assert under["bob"]["w"] > low and low not in under["bob_widths"], under
    assert after["carol"]["w"] == after["bob"]["w"] > low, after


def test_no_page_errors_while_the_link_changes(simulcast_run):
    passed(simulcast_run, "no_page_errors")


if __name__ == "__main__" and sys.argv[1:] == ["scenario"]:
    emit_result(scenario())
