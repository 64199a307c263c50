"""A meeting through the SFU: the all-in-one app and three aiortc clients, over HTTP and /ws/signaling.

Everything runs in a private network namespace: pytest starts ``python -m
tests.integration.test_sfu_meeting meeting`` under ``unshare -n``; that scenario process starts the
app as a child (``... app PORT``, the real composition and ``create_app``, with a stdin hook that
reports the SFU's leftovers) and drives three clients that negotiate as docs/signaling.md section 13
says. Clients offer with Chromium's numbering (opus 111, VP8 96/RTX 97, audio-level 1,
abs-send-time 2, mid 4), which aiortc's own defaults contradict: the SFU must keep it in every offer.
"""

from __future__ import annotations

import asyncio
import gc
import json
import math
import os
import sys
import time
from typing import Any

import pytest

from tests.support.netns import allow_loopback_candidates, emit_result, require_unshare, run_module

MODULE = "tests.integration.test_sfu_meeting"
FPS = 15
SFU = "00000000-0000-4000-8000-00000000f00d"
PASSWORD = "correct horse battery staple"
AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
CHROMIUM_PTS = {"audio": {("opus", 48000, 2): 111},
                "video": {("vp8", 90000, 1): 96, ("rtx", 90000, ("vp8", 90000, 1)): 97}}
CHROMIUM_EXTS = {"audio": {AUDIO_LEVEL: 1, MID: 4}, "video": {ABS_SEND_TIME: 2, MID: 4}}

@pytest.fixture
def netns_capable() -> None:
    require_unshare()


needs_netns = pytest.mark.usefixtures("netns_capable")


# --- the app, as a child of the scenario (inside the namespace) ----------------------------------

def leftovers(media: Any) -> dict[str, Any]:
    from aiortc import RTCDtlsTransport, RTCIceTransport, RTCPeerConnection

    objects = gc.get_objects()
    return {"connections": media.connection_count(), "rooms": len(media.rooms),
            "sfu_tasks": sorted(t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith("sfu-")),
            "open_peer_connections": sum(1 for o in objects if isinstance(o, RTCPeerConnection)
                                         and o.connectionState != "closed"),
            "open_transports": sum(1 for o in objects if isinstance(o, (RTCIceTransport, RTCDtlsTransport))
                                   and o.state not in ("closed", "failed"))}


async def run_app(port: int) -> None:
    from aiohttp import web

    from runners.serve import composed
    from runners.settings import Settings
    from runners.web.app import create_app

    settings = Settings.from_env({**os.environ, "APP_PORT": str(port)})
    async with composed(settings) as (_, services):
        runner = web.AppRunner(create_app(services, settings), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        print("READY", flush=True)
        reader = asyncio.StreamReader()
        await asyncio.get_running_loop().connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := (await reader.readline()).strip():
            if line == b"quit":
                break
            gc.collect()
            print(json.dumps(leftovers(services.media)), flush=True)
        await runner.cleanup()  # cleanup_ctx closes the SFU
        gc.collect()
        print(json.dumps(leftovers(services.media)), flush=True)


class App:
    def __init__(self, port: int) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        env = {**os.environ, "APP_FAST_PASSWORD_HASHING": "true", "APP_LOG_LEVEL": "WARNING",
               "APP_LOG_FORMAT": "text", "APP_JWT_SECRET": "sfu-meeting-test-secret-0123456789abcdef"}
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", MODULE, "app", str(self.port), env=env,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 30)
        assert line.strip() == b"READY", line

    async def ask(self, command: str) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(command.encode() + b"\n")
        return json.loads(await asyncio.wait_for(self.proc.stdout.readline(), 30))

    async def stop(self) -> dict[str, Any]:
        after = await self.ask("quit")
        assert self.proc is not None
        await asyncio.wait_for(self.proc.wait(), 20)
        return after


# --- a meeting client ------------------------------------------------------------------------------

class ToneTrack:
    """Loud audio: a 440 Hz sine at about -12 dBov (aiortc's AudioStreamTrack sends silence)."""

    @staticmethod
    def make() -> Any:
        from aiortc import AudioStreamTrack

        class Tone(AudioStreamTrack):
            phase = 0

            async def recv(self) -> Any:
                frame = await super().recv()
                n = frame.samples
                samples = bytearray()
                for i in range(n):
                    v = int(8000 * math.sin(2 * math.pi * 440 * (self.phase + i) / frame.sample_rate))
                    samples += v.to_bytes(2, "little", signed=True)
                self.phase += n
                size = frame.planes[0].buffer_size
                frame.planes[0].update(bytes(samples[:size]) + bytes(max(0, size - len(samples))))
                return frame

        return Tone()


def chromium_numbering(sdp: str) -> str:
    from adapters.webrtc.sdp import Numbering, pin

    numbering = Numbering(payload_types={k: dict(v) for k, v in CHROMIUM_PTS.items()},
                          extension_ids={k: dict(v) for k, v in CHROMIUM_EXTS.items()})
    return pin(sdp, numbering)


def numbering_of(sdp: str) -> dict[str, Any]:
    """Per m-line kind: sorted (pt, codec) and (id, uri) pairs."""
    from adapters.webrtc.sdp import codec_keys, extensions, kind_of, sections

    out: dict[str, set[Any]] = {}
    for section in sections(sdp)[1]:
        kind = kind_of(section)
        out.setdefault(f"{kind} pt", set()).update((pt, repr(k)) for pt, k in codec_keys(section).items())
        out.setdefault(f"{kind} ext", set()).update((i, u) for u, i in extensions(section).items())
    return {k: sorted(v) for k, v in out.items()}


class Member:
    def __init__(self, name: str, app: App, session: Any) -> None:
        self.name, self.app, self.session = name, app, session
        self.user_id = ""
        self.token = ""
        self.ws: Any = None
        self.pc: Any = None
        self.inbox: list[dict[str, Any]] = []
        self.sdps: list[tuple[str, str]] = []  # (direction and type, sdp) of every SDP it saw or sent
        self.media: dict[str, Any] = {}  # track id ("<user>-<kind>") -> ReceivedMedia
        self.first_frame: dict[str, float] = {}
        self.speakers: list[str] = []
        self.sfu_offers = 0
        self._tasks: list[asyncio.Task[Any]] = []
        self._lock = asyncio.Lock()
        self._next = 0

    async def sign_up(self) -> None:
        body = {"username": self.name, "email": f"{self.name}@example.com", "password": PASSWORD}
        async with self.session.post(f"{self.app.base}/api/v1/auth/register", json=body) as r:
            assert r.status == 201, await r.text()
        async with self.session.post(f"{self.app.base}/api/v1/auth/login",
                                     json={"username": self.name, "password": PASSWORD}) as r:
            tokens = await r.json()
        self.token, self.user_id = tokens["access_token"], tokens["user"]["id"]

    async def http(self, method: str, path: str, **kw: Any) -> tuple[int, Any]:
        async with self.session.request(method, self.app.base + path, headers={"Authorization": f"Bearer {self.token}"},
                                        **kw) as r:
            return r.status, await r.json()

    async def connect(self) -> None:
        self.ws = await self.session.ws_connect(f"{self.app.base}/ws/signaling",
                                                headers={"Authorization": f"Bearer {self.token}"})
        self._tasks.append(asyncio.ensure_future(self._read()))
        await self.next("welcome")

    async def send(self, kind: str, data: dict[str, Any]) -> None:
        self._next += 1
        await self.ws.send_str(json.dumps({"v": 1, "type": kind, "id": f"{self.name}{self._next}", "data": data}))

    async def next(self, kind: str, timeout: float = 15, where: Any = None) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.inbox:
                if message["type"] == kind and (where is None or where(message["data"])):
                    self.inbox.remove(message)
                    return message
            await asyncio.sleep(0.02)
        raise TimeoutError(f"{self.name}: no {kind} within {timeout}s; inbox {[m['type'] for m in self.inbox]}")

    async def _read(self) -> None:
        from runners.signaling.protocol import check_server

        async for msg in self.ws:
            message = json.loads(msg.data)
            assert check_server(message) == [], message
            data = message["data"]
            if message["type"] in ("offer", "answer") and data.get("from") == SFU:
                self._tasks.append(asyncio.ensure_future(self._negotiate(message["type"], data)))
            elif message["type"] == "active_speaker":
                self.speakers.append(data["user_id"])
            elif message["type"] == "error":
                raise AssertionError(f"{self.name} got {message}")
            else:
                self.inbox.append(message)

    async def join(self, room_id: str) -> dict[str, Any]:
        self.room_id = room_id
        await self.send("join_room", {"room_id": room_id})
        state = await self.next("room_state")
        assert state["data"]["sfu_peer_id"] == SFU
        return state["data"]

    async def publish(self, video: Any, audio: Any) -> None:
        from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
        from aiortc.rtcconfiguration import RTCBundlePolicy

        from tests.support.netns import require_private_netns
        from tests.support.webrtc_rig import ReceivedMedia

        require_private_netns()
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))

        @self.pc.on("track")
        def on_track(track: Any) -> None:
            media = self.media[track.id] = ReceivedMedia()
            self._tasks.append(asyncio.ensure_future(self._consume(track.id, media, track)))

        for track, mimes in ((audio, ("audio/opus",)), (video, ("video/VP8", "video/rtx"))):
            transceiver = self.pc.addTransceiver(track, direction="sendrecv")
            caps = RTCRtpSender.getCapabilities(track.kind).codecs
            transceiver.setCodecPreferences([c for m in mimes for c in caps if c.mimeType.lower() == m.lower()])
        offer = await self.pc.createOffer()
        await self.pc.setLocalDescription(RTCSessionDescription(chromium_numbering(offer.sdp), "offer"))
        self.sdps.append(("sent offer", self.pc.localDescription.sdp))
        await self.send("offer", {"room_id": self.room_id, "to": SFU, "sdp": self.pc.localDescription.sdp})

    async def _consume(self, track_id: str, media: Any, track: Any) -> None:
        task = asyncio.ensure_future(media.consume(track))
        while not (media.video or media.audio_frames):
            await asyncio.sleep(0.01)
        self.first_frame[track_id] = time.monotonic()
        await task

    async def _negotiate(self, kind: str, data: dict[str, Any]) -> None:
        from aiortc import RTCSessionDescription

        async with self._lock:
            self.sdps.append((f"got {kind}", data["sdp"]))
            await self.pc.setRemoteDescription(RTCSessionDescription(data["sdp"], kind))
            if kind == "offer":
                self.sfu_offers += 1
                await self.pc.setLocalDescription(await self.pc.createAnswer())
                self.sdps.append(("sent answer", self.pc.localDescription.sdp))
                await self.send("answer", {"room_id": self.room_id, "to": SFU, "sdp": self.pc.localDescription.sdp})

    async def offers_seen(self, count: int, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while self.sfu_offers < count:
            assert time.monotonic() < deadline, f"{self.name}: {self.sfu_offers} SFU offers, expected {count}"
            await asyncio.sleep(0.05)
        async with self._lock:  # its answer has been sent
            pass

    def video_from(self, other: Member) -> Any:
        return self.media.get(f"{other.user_id}-video")

    async def receiving(self, *others: Member, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while not all((m := self.video_from(o)) is not None and len(m.video) >= 3 for o in others):
            assert time.monotonic() < deadline, f"{self.name} gets no video from {[o.name for o in others]}"
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        if self.pc is not None:
            await self.pc.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.ws is not None:
            await self.ws.close()


def summary(member: Member, other: Member, since: float = 0.0) -> dict[str, Any]:
    video = member.video_from(other)
    audio = member.media.get(f"{other.user_id}-audio")
    out = video.summary(since) if video is not None else {"counters": [], "delays_ms": [], "fps": 0.0}
    out["audio_frames"] = audio.audio_frames if audio is not None else 0
    out["last_arrival"] = video.video[-1][2] if video is not None and video.video else 0.0
    return out


def inactive_mids(sdp: str, user_id: str) -> set[str]:
    from adapters.webrtc.sdp import directions, msid_of

    return {mid for mid, msid in msid_of(sdp).items()
            if msid.startswith(user_id + " ") and directions(sdp).get(mid) == "inactive"}


async def scenario_meeting() -> dict[str, Any]:
    app = App(18800)
    await app.start()
    try:
        return await meeting_through(app)
    finally:
        if app.proc is not None and app.proc.returncode is None:
            app.proc.kill()
            await app.proc.wait()


async def meeting_through(app: App) -> dict[str, Any]:
    import aiohttp

    result: dict[str, Any] = {}
    async with aiohttp.ClientSession() as session:
        ann, bob, cat = members = [Member(n, app, session) for n in ("ann", "bob", "cat")]
        try:
            return await meeting_of(app, result, ann, bob, cat)
        except BaseException:
            if os.environ.get("SFU_DEBUG"):
                for m in members:
                    state = m.pc.connectionState if m.pc else None
                    print(m.name, m.user_id, {k: len(v.video) for k, v in m.media.items()}, state, file=sys.stderr)
                    for what, sdp in m.sdps:
                        print("=====", m.name, what, "\n", sdp, file=sys.stderr)
            raise


async def meeting_of(app: App, result: dict[str, Any], ann: Member, bob: Member, cat: Member) -> dict[str, Any]:
    from aiortc import AudioStreamTrack

    from tests.support.webrtc_rig import MarkedVideoTrack

    for m in (ann, bob, cat):
        await m.sign_up()
    status, meeting = await ann.http("POST", "/api/v1/meetings", json={"title": "SFU standup"})
    room = meeting["id"]
    for m in (ann, bob):
        await m.connect()
        await m.join(room)
    joined = time.monotonic()
    await ann.publish(MarkedVideoTrack(FPS), ToneTrack.make())
    await bob.publish(MarkedVideoTrack(FPS), AudioStreamTrack())
    await ann.receiving(bob)
    await bob.receiving(ann)
    result["join_to_first_frame_s"] = max(ann.first_frame[f"{bob.user_id}-video"],
                                          bob.first_frame[f"{ann.user_id}-video"]) - joined
    await asyncio.sleep(3.0)
    result["speakers_before_cat"] = list(ann.speakers)

    await cat.connect()
    await cat.join(room)
    cat_joined = time.monotonic()
    offers_before = {"ann": ann.sfu_offers, "bob": bob.sfu_offers}
    await cat.publish(MarkedVideoTrack(FPS), AudioStreamTrack())
    await cat.receiving(ann, bob)
    await ann.receiving(cat)
    await bob.receiving(cat)
    result["cat_join_to_first_frame_s"] = max(cat.first_frame[f"{o.user_id}-video"] for o in (ann, bob)) - cat_joined
    result["offers_for_cat"] = {"ann": ann.sfu_offers - offers_before["ann"],
                                "bob": bob.sfu_offers - offers_before["bob"]}
    await asyncio.sleep(2.0)
    status, stats = await ann.http("GET", "/api/v1/media/stats", params={"room_id": room})
    result["stats_status"], result["stats"] = status, stats
    result["stats_as_cat"] = (await cat.http("GET", "/api/v1/media/stats", params={"room_id": room}))[0]

    offers_before = {"ann": ann.sfu_offers, "bob": bob.sfu_offers}
    await cat.send("leave_room", {"room_id": room})
    await ann.offers_seen(offers_before["ann"] + 1)
    await bob.offers_seen(offers_before["bob"] + 1)
    left = time.monotonic()
    await asyncio.sleep(2.0)
    result["cat_inactive_after_leave"] = {
        m.name: sorted(inactive_mids(m.sdps[-2][1], cat.user_id)) for m in (ann, bob)}
    result["offers_for_leave"] = {"ann": ann.sfu_offers - offers_before["ann"],
                                  "bob": bob.sfu_offers - offers_before["bob"]}
    result["ann_from_bob"] = summary(ann, bob)
    result["bob_from_ann"] = summary(bob, ann)
    result["cat_from_ann"] = summary(cat, ann)
    result["cat_from_bob"] = summary(cat, bob)
    result["ann_from_cat"] = summary(ann, cat)
    result["frames_after_leave"] = {
        "ann_from_bob": sum(1 for v in ann.video_from(bob).video if v[2] > left),
        "bob_from_ann": sum(1 for v in bob.video_from(ann).video if v[2] > left)}
    result["speakers"] = list(bob.speakers)
    result["speaker_ids"] = {"ann": ann.user_id, "bob": bob.user_id, "cat": cat.user_id}
    result["numbering"] = {m.name: [numbering_of(sdp) for _, sdp in m.sdps] for m in (ann, bob, cat)}
    result["sdp_count"] = {m.name: len(m.sdps) for m in (ann, bob, cat)}

    for m in (ann, bob):
        await m.send("leave_room", {"room_id": room})
    await asyncio.sleep(1.0)
    result["after_everyone_left"] = await app.ask("inspect")
    for m in (ann, bob, cat):
        await m.close()
    result["after_shutdown"] = await app.stop()
    return result


# --- tests -----------------------------------------------------------------------------------------

def in_order(counters: list[int]) -> bool:
    return all(b == a + 1 for a, b in zip(counters, counters[1:]))


@pytest.fixture(scope="module")
def meeting() -> dict[str, Any]:
    result, _ = run_module(MODULE, "meeting", timeout=180)
    return result


@needs_netns
def test_every_member_receives_the_others_video_in_order_and_their_audio(meeting: dict[str, Any]) -> None:
    for pair in ("ann_from_bob", "bob_from_ann", "cat_from_ann", "cat_from_bob", "ann_from_cat"):
        got = meeting[pair]
        assert len(got["counters"]) >= 2 * FPS, pair
        assert in_order(got["counters"]), (pair, got["counters"])
        assert got["audio_frames"] > 50, pair
    assert meeting["join_to_first_frame_s"] < 5


@needs_netns
def test_a_newcomer_and_a_leaver_cost_each_member_one_offer_and_existing_streams_keep_flowing(
        meeting: dict[str, Any]) -> None:
    assert meeting["offers_for_cat"] == {"ann": 1, "bob": 1}
    assert meeting["offers_for_leave"] == {"ann": 1, "bob": 1}
    for name in ("ann", "bob"):
        assert len(meeting["cat_inactive_after_leave"][name]) == 2  # cat's audio and video m-lines
    # the streams between ann and bob ran through both renegotiations without a gap in the counters
    for pair in ("ann_from_bob", "bob_from_ann"):
        assert in_order(meeting[pair]["counters"])
        assert meeting["frames_after_leave"][pair] >= FPS


@needs_netns
def test_payload_types_and_header_extension_ids_never_change_in_any_sdp(meeting: dict[str, Any]) -> None:
    for name, seen in meeting["numbering"].items():
        assert len(seen) >= 4, name
        audio_pts = {pt for n in seen for pt, _ in n.get("audio pt", [])}
        video_pts = {pt for n in seen for pt, _ in n.get("video pt", [])}
        assert audio_pts == {111}, (name, audio_pts)
        assert video_pts == {96, 97}, (name, video_pts)
        exts = {tuple(e) for n in seen for key in ("audio ext", "video ext") for e in n.get(key, [])}
        assert exts <= {(1, AUDIO_LEVEL), (4, MID), (2, ABS_SEND_TIME)}, (name, exts)
        assert (4, MID) in exts


@needs_netns
def test_the_member_sending_loud_audio_is_announced_as_active_speaker(meeting: dict[str, Any]) -> None:
    ann = meeting["speaker_ids"]["ann"]
    assert meeting["speakers_before_cat"] == [ann]
    assert set(meeting["speakers"]) == {ann}


@needs_netns
def test_the_host_sees_every_forwarded_track_in_the_media_stats_and_others_may_not(meeting: dict[str, Any]) -> None:
    assert meeting["stats_status"] == 200
    assert meeting["stats_as_cat"] == 403
    participants = meeting["stats"]["participants"]
    assert len(participants) == 3
    for p in participants:
        inbound = [t for t in p["tracks"] if t["direction"] == "inbound"]
        outbound = [t for t in p["tracks"] if t["direction"] == "outbound"]
        assert sorted(t["kind"] for t in inbound) == ["audio", "video"]
        assert sorted(t["kind"] for t in outbound) == ["audio", "audio", "video", "video"]
        assert all(t["packets"] > 0 and t["frames_forwarded"] > 0 and t["bitrate_bps"] > 0 for t in p["tracks"])
        assert {t["publisher_id"] for t in outbound} == {q["user_id"] for q in participants} - {p["user_id"]}


@needs_netns
def test_after_everyone_leaves_nothing_is_left_behind(meeting: dict[str, Any]) -> None:
    nothing = {"connections": 0, "rooms": 0, "sfu_tasks": [], "open_peer_connections": 0, "open_transports": 0}
    assert meeting["after_everyone_left"] == nothing
    assert meeting["after_shutdown"] == nothing


if __name__ == "__main__":
    allow_loopback_candidates()
    if sys.argv[1] == "app":
        asyncio.run(run_app(int(sys.argv[2])))
    else:
        emit_result(asyncio.run(scenario_meeting()))
