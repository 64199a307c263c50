"""Simulcast mechanics of the SFU with synthetic RTP fed to a real (unconnected) aiortc receiver: layers
demuxed by rid, NACKs and RTX per layer, keyframe requests to one layer, layer switches only at a
keyframe of the new layer with the subscriber's RTP timestamps and VP8 picture ids continuous; a track
published without simulcast goes out exactly as before. SDP: the answer's recv rids."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from aiortc import RTCRtpReceiver
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtcrtpreceiver import RemoteStreamTrack
from aiortc.rtp import RTCP_PSFB_PLI, RTCP_RTPFB_NACK, RtcpPsfbPacket, RtcpRtpfbPacket, RtpPacket, wrap_rtx

from adapters.webrtc import aiortc_internals as internals
from adapters.webrtc.assembly import SimulcastAssembler, VideoFrameAssembler
from adapters.webrtc.forwarding import ForwardedTrack, PublishedTrack, vp8_resolution
from adapters.webrtc.sdp import receive_simulcast, rid_extensions, simulcast_rids

VP8, RTX = 96, 97
SIZES = {"q": (320, 180), "h": (640, 360), "f": (1280, 720)}
SSRCS = {"q": 1000, "h": 2000, "f": 3000}
RTX_SSRCS = {"q": 1001, "h": 2001, "f": 3001}
TS_BASE = {"q": 10_000, "h": 5_000_000, "f": 900_000_000}  # each layer's own random RTP clock


def vp8_frame(keyframe: bool, size: tuple[int, int], n: int) -> bytes:
    if keyframe:
        w, h = size
        return bytes([0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A, w & 0xFF, w >> 8, h & 0xFF, h >> 8]) + bytes([n % 256]) * 20
    return bytes([0x11, 0x02, 0x00, n % 256]) + bytes(20)


class Rig:
    """A video receiver as aiortc makes it (never connected); RTCP it would send is collected."""

    def __init__(self) -> None:
        self.receiver = RTCRtpReceiver("video", SimpleNamespace(state="new"))
        self.receiver._track = RemoteStreamTrack(kind="video")
        codecs = getattr(self.receiver, "_RTCRtpReceiver__codecs")
        codecs[VP8] = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=VP8)
        codecs[RTX] = RTCRtpCodecParameters(mimeType="video/rtx", clockRate=90000, payloadType=RTX,
                                            parameters={"apt": VP8})
        self.receiver._set_rtcp_ssrc(1)
        self.rtcp: list[Any] = []

        async def send_rtcp(packet: Any) -> None:
            self.rtcp.append(packet)

        self.receiver._send_rtcp = send_rtcp  # type: ignore[method-assign]
        self.seq = {rid: 100 * (i + 1) for i, rid in enumerate(SIZES)}
        self.frames = {rid: 0 for rid in SIZES}
        self.sent: dict[tuple[str, int], RtpPacket] = {}

    def packet(self, rid: str, payload: bytes, timestamp: int, marker: bool, *, with_rid: bool = True,
               ssrc: int | None = None) -> RtpPacket:
        packet = RtpPacket(payload_type=VP8, marker=marker, sequence_number=self.seq[rid] % 65536,
                           timestamp=timestamp % (1 << 32), ssrc=ssrc or SSRCS[rid], payload=payload)
        if with_rid:
            packet.extensions.rtp_stream_id = rid
        self.sent[(rid, packet.sequence_number)] = packet
        self.seq[rid] += 1
        return packet

    async def feed(self, packet: RtpPacket) -> None:
        await self.receiver._handle_rtp_packet(packet, arrival_time_ms=0)

    async def frame(self, rid: str, keyframe: bool = False, *, drop_second: bool = False) -> None:
        """One frame of layer ``rid`` in two packets (the second lost when ``drop_second``)."""
        n = self.frames[rid]
        self.frames[rid] += 1
        data = vp8_frame(keyframe, SIZES[rid], n)
        ts = TS_BASE[rid] + 3000 * n
        await self.feed(self.packet(rid, b"\x90\x80" + bytes([0x80 | n >> 8 & 0x7F, n & 0xFF]) + data[:12], ts,
                                    False))
        second = self.packet(rid, b"\x80\x80" + bytes([0x80 | n >> 8 & 0x7F, n & 0xFF]) + data[12:], ts, True)
        if not drop_second:
            await self.feed(second)

    async def round(self, keyframes: tuple[str, ...] = ()) -> None:
        for rid in SIZES:
            await self.frame(rid, rid in keyframes)

    def plis(self) -> list[int]:
        return [p.media_ssrc for p in self.rtcp if isinstance(p, RtcpPsfbPacket) and p.fmt == RTCP_PSFB_PLI]

    def nacks(self) -> list[tuple[int, list[int]]]:
        return [(p.media_ssrc, list(p.lost)) for p in self.rtcp
                if isinstance(p, RtcpRtpfbPacket) and p.fmt == RTCP_RTPFB_NACK]


async def settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def drain(track: ForwardedTrack) -> list[tuple[int, int, int, bool]]:
    """(layer, RTP timestamp, VP8 picture id, keyframe) of each queued frame, as the sender sends it."""
    out = []
    while not track._queue.empty():
        packet = await track.recv()
        frame = track._current
        assert frame is not None
        payloads, timestamp = track.rtp_for(packet)  # type: ignore[misc]
        pids = {(p[2] & 0x7F) << 8 | p[3] for p in payloads}
        assert len(pids) == 1 and all(p[0] & 0x80 and p[1] == 0x80 for p in payloads)
        out.append((frame.layer, timestamp, pids.pop(), frame.keyframe))
    return out


async def simulcast_rig() -> tuple[Rig, PublishedTrack]:
    rig = Rig()
    published = PublishedTrack.tap(rig.receiver, rids=("q", "h", "f"))
    await rig.round(keyframes=("q", "h", "f"))
    return rig, published


async def test_layers_are_demuxed_by_rid_into_one_assembler_each_and_measured() -> None:
    rig, published = await simulcast_rig()
    for _ in range(5):
        await rig.round()
    await rig.feed(rig.packet("q", b"\x10" + vp8_frame(True, (1, 1), 0), 1, True, with_rid=False, ssrc=4444))
    assert isinstance(published.assembler, SimulcastAssembler)
    assert set(published.assembler.assemblers) == {1000, 2000, 3000}  # the SSRC without a rid is not a layer
    layers = published.layers
    assert [(l.rid, l.ssrc, l.width, l.height, l.active) for l in layers] == [
        ("q", 1000, 320, 180, True), ("h", 2000, 640, 360, True), ("f", 3000, 1280, 720, True)]
    assert published.frames_in == 18 and published.assembler.frames_released == 18
    published.close()


async def test_layers_are_ordered_low_to_high_by_resolution_whatever_the_offer_order() -> None:
    rig = Rig()
    published = PublishedTrack.tap(rig.receiver, rids=("f", "q", "h"))
    assert [l.rid for l in published.layers] == ["f", "q", "h"]  # nothing known yet: the offer's order
    await rig.round(keyframes=("q", "h", "f"))
    assert [l.rid for l in published.layers] == ["q", "h", "f"]
    published.close()


async def test_each_layer_nacks_its_own_lost_packets_and_rtx_found_by_repaired_rid_fills_the_hole() -> None:
    rig, published = await simulcast_rig()
    await rig.frame("q", drop_second=True)  # q loses one packet...
    await rig.round()  # ...and the other layers go on
    await rig.round()
    lost = rig.seq["q"] - 5  # the second packet of the frame before the two rounds
    assert rig.nacks() == [(1000, [lost])]  # only q's SSRC, only q's sequence number
    before = published.assembler.frames_released
    rtx = wrap_rtx(rig.sent[("q", lost)], payload_type=RTX, sequence_number=7, ssrc=RTX_SSRCS["q"])
    rtx.extensions = type(rtx.extensions)()
    rtx.extensions.repaired_rtp_stream_id = "q"
    await rig.feed(rtx)
    assert published.assembler.frames_released == before + 3  # the repaired frame and the two held after it
    assert internals.nack_generator(rig.receiver).missing_of(1000) == set()
    published.close()


async def test_a_subscriber_gets_the_highest_layer_then_switches_only_at_a_keyframe_of_its_target() -> None:
    rig, published = await simulcast_rig()
    track = published.subscribe()
    await rig.round(keyframes=("f",))
    assert track.current_layer == 2 and track.target_layer is None
    await rig.round()
    await settle()
    rig.rtcp.clear()
    track.set_target_layer(0)
    await settle()
    assert rig.plis() == [SSRCS["q"]]  # asked of the target layer only
    await rig.round()  # no keyframe of q yet: f goes on
    assert track.current_layer == 2 and track.layer_switches == 0
    await rig.frame("f")
    await rig.frame("q", keyframe=True)
    await rig.frame("h", keyframe=True)
    await rig.round()
    sent = await drain(track)
    layers = [s[0] for s in sent]
    assert layers == [2, 2, 2, 2, 0, 0] and track.current_layer == 0 and track.layer_switches == 1
    assert sent[4][3]  # the first frame of the new layer is its keyframe
    timestamps, pids = [s[1] for s in sent], [s[2] for s in sent]
    assert all(0 < b - a <= 3000 * 2 for a, b in zip(timestamps, timestamps[1:]))  # time moves on smoothly
    assert pids == list(range(pids[0], pids[0] + len(pids)))  # picture ids run on across the switch
    published.close()


async def test_switching_back_up_keeps_timestamps_and_picture_ids_continuous() -> None:
    rig, published = await simulcast_rig()
    track = published.subscribe()
    await rig.round(keyframes=("f",))
    track.set_target_layer(1)
    await rig.round(keyframes=("h",))
    track.set_target_layer(None)
    await rig.round()
    await rig.round(keyframes=("f",))
    await rig.round()
    sent = await drain(track)
    assert [s[0] for s in sent] == [2, 1, 1, 1, 2, 2] and track.layer_switches == 2
    timestamps, pids = [s[1] for s in sent], [s[2] for s in sent]
    assert all(0 < b - a <= 3000 * 2 for a, b in zip(timestamps, timestamps[1:]))
    assert pids == list(range(pids[0], pids[0] + len(pids)))
    published.close()


async def test_a_subscriber_keyframe_request_goes_to_the_layer_it_is_forwarded() -> None:
    rig, published = await simulcast_rig()
    track = published.subscribe()
    track.set_target_layer(1)
    await rig.round(keyframes=("h",))  # the keyframe asked for came: a new request may go at once
    await settle()
    rig.rtcp.clear()
    track.request_keyframe()  # the subscriber's PLI
    await settle()
    assert rig.plis() == [SSRCS["h"]]
    published.close()


async def test_a_target_layer_that_stopped_is_replaced_by_the_next_active_one_below() -> None:
    rig, published = await simulcast_rig()
    track = published.subscribe()
    layer = published._layers[2]
    layer.last_frame -= 5  # f sent nothing for 5 s
    published._check_layers(layer.last_frame + 5)
    assert [l.active for l in published.layers] == [True, True, False]
    assert track._want == 1 and track.target_layer is None
    published.close()


async def test_a_track_without_simulcast_is_forwarded_exactly_as_before() -> None:
    rig = Rig()
    handle = rig.receiver._handle_rtp_packet
    nacks = internals.nack_generator(rig.receiver)
    published = PublishedTrack.tap(rig.receiver)
    assert isinstance(published.assembler, VideoFrameAssembler) and not published.simulcast
    assert internals.nack_generator(rig.receiver) is nacks and rig.receiver._handle_rtp_packet == handle
    track = published.subscribe()
    for n in range(4):
        await rig.frame("f", keyframe=n == 0)
    track.set_target_layer(0)
    frames = []
    while not track._queue.empty():
        packet = await track.recv()
        frame = track._current
        assert frame is not None
        payloads, timestamp = track.rtp_for(packet)  # type: ignore[misc]
        assert payloads is frame.payloads() and timestamp == frame.packet.pts  # shared, unshifted
        frames.append(frame)
    assert len(frames) == 4 and track.layer_switches == 0 and track.current_layer == 0
    [layer] = published.layers
    assert (layer.rid, layer.ssrc, layer.width, layer.height, layer.active) == (None, 3000, 1280, 720, True)
    published.close()


def test_vp8_resolution_reads_a_keyframe_header_only() -> None:
    assert vp8_resolution(vp8_frame(True, (1280, 720), 0)) == (1280, 720)
    assert vp8_resolution(vp8_frame(False, (1280, 720), 0)) is None


CHROMIUM_SIMULCAST = """v=0\r
o=- 1 2 IN IP4 127.0.0.1\r
s=-\r
t=0 0\r
a=group:BUNDLE 0 1\r
m=audio 9 UDP/TLS/RTP/SAVPF 111\r
a=mid:0\r
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r
a=sendrecv\r
a=rtpmap:111 opus/48000/2\r
m=video 9 UDP/TLS/RTP/SAVPF 96 97\r
a=mid:1\r
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r
a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r
a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id\r
a=sendrecv\r
a=rtpmap:96 VP8/90000\r
a=rtpmap:97 rtx/90000\r
a=fmtp:97 apt=96\r
a=rid:q send\r
a=rid:h send\r
a=rid:f send\r
a=simulcast:send q;h;f\r
"""


def test_the_answer_receives_the_offered_rids_with_their_extensions_and_other_sections_are_unchanged() -> None:
    rids = simulcast_rids(CHROMIUM_SIMULCAST)
    assert rids == {"1": ("q", "h", "f")}
    extensions = rid_extensions(CHROMIUM_SIMULCAST, "1")
    assert [i for i, _ in extensions] == [10, 11]
    answer = CHROMIUM_SIMULCAST.replace("a=sendrecv", "a=recvonly").split("a=rid:")[0].replace(
        "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n", "").replace(
        "a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id\r\n", "")
    out = receive_simulcast(answer, rids, {uri: i for i, uri in extensions})
    video = out.split("m=video")[1]
    for line in ("a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
                 "a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
                 "a=rid:q recv", "a=rid:h recv", "a=rid:f recv", "a=simulcast:recv q;h;f"):
        assert line in video
    assert out.split("m=video")[0] == answer.split("m=video")[0]
    assert receive_simulcast(out, rids, {uri: i for i, uri in extensions}) == out  # idempotent
    plain = CHROMIUM_SIMULCAST.split("a=rid:")[0]
    assert simulcast_rids(plain) == {} and receive_simulcast(plain, {}, {}) == plain


async def test_after_a_switch_an_overflowed_queue_restarts_at_a_keyframe_with_the_same_shift() -> None:
    rig = Rig()
    published = PublishedTrack.tap(rig.receiver, rids=("q", "h", "f"), video_queue=4)
    await rig.round(keyframes=("q", "h", "f"))
    track = published.subscribe()
    await rig.round(keyframes=("f",))
    track.set_target_layer(0)
    await rig.round(keyframes=("q",))
    before = await drain(track)
    for _ in range(6):  # the sender stalls: the queue overflows and waits for a keyframe of q
        await rig.round()
    assert track.waiting_for_keyframe and track.current_layer == 0
    await rig.round(keyframes=("q",))
    after = await drain(track)
    assert [s[0] for s in before] == [2, 0] and [s[0] for s in after] == [0]
    assert after[0][1] - before[-1][1] == 3000 * 7  # the same shift: seven q frames later
    assert after[0][2] - before[-1][2] == 7
    published.close()


async def test_a_publishers_receiver_reports_the_publish_ceiling_as_remb_not_a_delay_estimate() -> None:
    from aiortc.rtp import RTCP_PSFB_APP, unpack_remb_fci

    rig = Rig()
    internals.fix_remb(rig.receiver, 2_500_000)
    for n, ms in enumerate((0, 5, 400, 1000, 1200, 2100)):  # arrival times wildly off their send times
        packet = rig.packet("q" if n % 2 else "h", b"\x90\x80\x80\x00" + bytes(20), 1000 * n, True)
        packet.extensions.abs_send_time = (n * 7) & 0xFFFFFF
        await rig.receiver._handle_rtp_packet(packet, arrival_time_ms=ms)
    rembs = [unpack_remb_fci(p.fci) for p in rig.rtcp if getattr(p, "fmt", None) == RTCP_PSFB_APP]
    assert rembs == [(2_500_000, [SSRCS["h"]]), (2_500_000, sorted(SSRCS[r] for r in "qh")),
                     (2_500_000, sorted(SSRCS[r] for r in "qh"))]  # at most one a second, every ssrc seen


def test_the_sfu_sdp_gives_chromium_start_and_max_bitrates_on_published_video_only() -> None:
    from adapters.webrtc.sdp import publish_bitrates

    sdp = ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
           "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n"
           "m=video 9 UDP/TLS/RTP/SAVPF 96 97 102\r\na=mid:1\r\na=rtpmap:96 VP8/90000\r\n"
           "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\na=rtpmap:102 H264/90000\r\n"
           "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
           "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\na=rtpmap:96 VP8/90000\r\n")
    out = publish_bitrates(sdp, {"1"}, 1500, 2500)
    assert "a=rtpmap:96 VP8/90000\r\na=fmtp:96 x-google-start-bitrate=1500;x-google-max-bitrate=2500\r\n" in out
    assert ("a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f;"
            "x-google-start-bitrate=1500;x-google-max-bitrate=2500\r\n") in out
    assert "a=fmtp:97 apt=96\r\n" in out  # rtx untouched
    assert out.split("m=video")[2] == sdp.split("m=video")[2]  # a forwarded section: untouched
    assert out.split("m=video")[0] == sdp.split("m=video")[0]
    assert publish_bitrates(out, {"1"}, 1500, 2500) == out  # idempotent
    assert publish_bitrates(sdp, set(), 1500, 2500) == sdp


async def test_observers_such_as_the_recorder_see_one_layer_and_change_layer_only_at_its_keyframe() -> None:
    rig = Rig()
    published = PublishedTrack.tap(rig.receiver, rids=("q", "h", "f"))
    seen: list[int] = []
    published.observers.append(lambda frame: seen.append(frame.ssrc))
    await rig.round(keyframes=("q", "h", "f"))  # each layer starts with a keyframe: up to f at once
    await rig.round()
    assert seen == [SSRCS["q"], SSRCS["h"], SSRCS["f"], SSRCS["f"]]
    layer = published._layers[2]
    layer.last_frame -= 5  # f sent nothing for 5 s
    published._check_layers(layer.last_frame + 5)
    seen.clear()
    await rig.frame("q")
    await rig.frame("h")  # the highest active layer now, but not a keyframe: nothing yet, a PLI for it
    await settle()
    assert seen == [] and SSRCS["h"] in rig.plis()
    await rig.frame("h", keyframe=True)
    await rig.frame("q")
    await rig.frame("h")
    assert seen == [SSRCS["h"]] * 2
    published.close()
