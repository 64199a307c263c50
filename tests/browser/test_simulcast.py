"""Simulcast from real Chromium through the SFU (docs/signaling.md 13.10), inside ``unshare -n``.

A Chromium page (fake camera, 1280x720) publishes one video track with three RID layers
(``q`` 1/4, ``h`` 1/2, ``f`` full) on one max-bundle connection, offering once and answering the
SFU's offers (13.1); an aiortc member publishes a small video (so the page gets an SFU offer, which
must keep its simulcast) and receives the page's camera, decoding it. The scenario checks that the SFU
receives at least two layers of different widths, then forces the subscriber's target layer down and
up again and records the width the subscriber decodes, the time each switch took and the longest gap
between decoded frames; aiortc's VP8 decode errors are counted.

Run by pytest, this module only reads the record its ``scenario`` made (conftest.py explains the
pattern).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sys
import time
from typing import Any

import pytest

from tests.browser.conftest import CHROMIUM_FLAGS
from tests.support.netns import allow_loopback_candidates, emit_result, run_module, unshare_available

pytestmark = pytest.mark.timeout(180)

PUBLISH_JS = """async () => {
  const stream = await navigator.mediaDevices.getUserMedia(
      {video: {width: {exact: 1280}, height: {exact: 720}, frameRate: 30}, audio: false});
  const pc = new RTCPeerConnection({bundlePolicy: "max-bundle"});
  window.pc = pc;
  pc.addTransceiver(stream.getVideoTracks()[0], {direction: "sendrecv", sendEncodings: [
      {rid: "q", scaleResolutionDownBy: 4}, {rid: "h", scaleResolutionDownBy: 2}, {rid: "f"}]});
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((done) => {  // simple variant of 13.1: the offer carries every candidate
    if (pc.iceGatheringState === "complete") return done();
    pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && done());
  });
  return pc.localDescription.sdp;
}"""
ANSWER_JS = "async (sdp) => { await window.pc.setRemoteDescription({type: 'answer', sdp}); }"
REOFFER_JS = """async (sdp) => {
  await window.pc.setRemoteDescription({type: 'offer', sdp});
  await window.pc.setLocalDescription(await window.pc.createAnswer());
  return window.pc.localDescription.sdp;
}"""
OUTBOUND_JS = """async () => {
  const out = [];
  (await window.pc.getStats()).forEach((s) => {
    if (s.type === "outbound-rtp" && s.kind === "video")
      out.push({rid: s.rid, width: s.frameWidth || 0, fps: s.framesPerSecond || 0, bytes: s.bytesSent});
  });
  return out;
}"""


class DecodeErrors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


async def run_scenario() -> dict[str, Any]:
    from playwright.async_api import async_playwright

    from tests.support.sfu_room import ROOM, Room, RoomMember, small_video

    allow_loopback_candidates()
    errors = DecodeErrors()
    logging.getLogger("aiortc.codecs.vpx").addHandler(errors)
    result: dict[str, Any] = {}
    room = Room()
    room.sfu.bandwidth = None  # the test forces each layer: no bandwidth controller choosing them (13.11)
    widths: list[tuple[float, int]] = []  # (arrival, width) of each frame the subscriber decodes

    class Subscriber(RoomMember):
        async def _consume(self, receiver: Any, track: Any) -> None:
            try:
                while True:
                    frame = await track.recv()
                    if track.kind == "video" and self.label_of(receiver) == f"{publisher}-video":
                        widths.append((time.monotonic(), frame.width))
            except Exception:
                pass

    publisher = "00000000-0000-4000-8000-0000000000c1"

    class PageMember:
        """The page as the room's Signals see a member: SFU answers and offers go to it."""

        def __init__(self, page: Any) -> None:
            self.page = page
            self.tasks: set[asyncio.Task[Any]] = set()
            self.offers = 0

        def spawn(self, coro: Any) -> None:
            task = asyncio.ensure_future(coro)
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

        async def close(self) -> None:
            for task in list(self.tasks):
                task.cancel()

        async def on_signal(self, kind: str, payload: dict[str, Any]) -> None:
            if kind == "answer":
                result["answer_rids"] = [line for line in payload["sdp"].splitlines()
                                         if line.startswith(("a=rid:", "a=simulcast:"))]
                await self.page.evaluate(ANSWER_JS, payload["sdp"])
            elif kind == "offer":
                self.offers += 1
                answer = await self.page.evaluate(REOFFER_JS, payload["sdp"])
                await room.sfu.signal(ROOM, publisher, "answer", {"sdp": answer})

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=shutil.which("chromium"), headless=True,
                                           args=CHROMIUM_FLAGS)
        page = await browser.new_page()
        await page.route("http://localhost/", lambda route: route.fulfill(body="<html><body></body></html>",
                                                                            content_type="text/html"))
        await page.goto("http://localhost/")  # a secure context, for getUserMedia
        member = PageMember(page)
        room.signals.members[publisher] = member  # type: ignore[assignment]
        offer = await page.evaluate(PUBLISH_JS)
        result["offer_rids"] = [line for line in offer.splitlines() if line.startswith(("a=rid:", "a=simulcast:"))]
        await room.sfu.signal(ROOM, publisher, "offer", {"sdp": offer})  # type: ignore[arg-type]
        peer = room.sfu.rooms[ROOM].peers[publisher]  # type: ignore[index]
        room.joined = 1
        subscriber = Subscriber(room, __import__("domain.shared.ids", fromlist=["UserId"]).UserId(
            "00000000-0000-4000-8000-0000000000c2"), "sub")
        room.signals.members[subscriber.user_id] = subscriber
        await subscriber.publish(small_video(15))

        start = time.monotonic()
        published = None
        while time.monotonic() - start < 25:
            published = peer.published.get("video")
            if published is not None:
                active = {l.width for l in published.layers if l.active and l.width}
                if len(active) >= 3 or (len(active) >= 2 and time.monotonic() - start > 8):
                    break
            await asyncio.sleep(0.25)
        assert published is not None, "the page's camera never reached the SFU"
        result["layers_after_s"] = round(time.monotonic() - start, 1)
        result["layers"] = [dict(rid=l.rid, width=l.width, height=l.height, bitrate_bps=l.bitrate_bps,
                                 fps=l.fps, active=l.active) for l in published.layers]
        result["page_offers_answered"] = member.offers
        result["page_outbound"] = await page.evaluate(OUTBOUND_JS)
        subscription = room.sfu.rooms[ROOM].peers[subscriber.user_id].subscriptions[  # type: ignore[index]
            (publisher, "video")]
        track = subscription.track
        deadline = time.monotonic() + 10
        while not widths and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        result["first_width"] = widths[-1][1] if widths else None
        result["switches_before"] = track.layer_switches  # layers starting and stopping as Chromium ramps up

        async def force(index: int | None) -> dict[str, Any]:
            track.set_target_layer(index)
            position = published.layer_position(track._want)  # type: ignore[union-attr]
            want = published.layers[position].width  # type: ignore[union-attr]
            asked, seen = time.monotonic(), len(widths)
            switched = None
            while time.monotonic() - asked < 8:
                if any(w == want for _, w in widths[seen:]):
                    switched = next(t for t, w in widths[seen:] if w == want) - asked
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.5)  # frames after the switch keep coming
            after = [t for t, _ in widths[seen:]]
            gaps = [b - a for a, b in zip(after, after[1:])]
            return {"target": index, "want_width": want, "switch_s": round(switched, 3) if switched else None,
                    "widths_after": sorted({w for _, w in widths[seen:]}), "frames_after": len(after),
                    "last_width": widths[-1][1],
                    "max_gap_s": round(max(gaps), 3) if gaps else None, "current_layer": track.current_layer,
                    "layer_switches": track.layer_switches}

        result["down"] = await force(0)
        result["up"] = await force(None)
        result["decode_errors"] = errors.count
        result["keyframe_requests"] = published.keyframe_requests
        await browser.close()
    await room.close()
    return result


def scenario() -> dict[str, Any]:
    return asyncio.run(run_scenario())


@pytest.fixture(scope="module")
def simulcast_run() -> dict[str, Any]:
    if not unshare_available():
        pytest.fail("browser tests need root, unshare and ip (iproute2) for a private network namespace")
    if shutil.which("chromium") is None:
        pytest.fail("Debian's chromium is not installed: apt-get install -y chromium (make test does it)")
    result, _ = run_module("tests.browser.test_simulcast", "scenario", timeout=150)
    print(f"\nsimulcast: {result}")
    return result


def test_chromium_simulcast_is_answered_with_recv_rids_and_the_sfu_receives_layers_of_different_widths(
        simulcast_run: dict[str, Any]) -> None:
    assert [r for r in simulcast_run["offer_rids"] if r.startswith("a=rid:")] == [
        "a=rid:q send", "a=rid:h send", "a=rid:f send"]
    widths = {layer["width"] for layer in simulcast_run["layers"] if layer["active"] and layer["width"]}
    assert len(widths) >= 2, simulcast_run["layers"]
    assert simulcast_run["answer_rids"] == ["a=rid:q recv", "a=rid:h recv", "a=rid:f recv", "a=simulcast:recv q;h;f"]
    assert simulcast_run["page_offers_answered"] >= 1  # an SFU offer to the page kept its layers


def test_forcing_the_target_layer_changes_the_width_the_subscriber_decodes_without_decode_errors(
        simulcast_run: dict[str, Any]) -> None:
    down, up = simulcast_run["down"], simulcast_run["up"]
    assert down["switch_s"] is not None and down["last_width"] == down["want_width"], down
    assert up["switch_s"] is not None and up["last_width"] == up["want_width"] > down["want_width"], up
    assert down["frames_after"] > 10 and up["frames_after"] > 10  # decoding went on after each switch
    assert simulcast_run["decode_errors"] == 0
    assert up["layer_switches"] == simulcast_run["switches_before"] + 2


if __name__ == "__main__" and sys.argv[1:] == ["scenario"]:
    emit_result(scenario())
