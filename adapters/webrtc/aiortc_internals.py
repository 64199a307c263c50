"""Every place where the forwarding code reaches below aiortc's public API, named and checked.

aiortc (verified against 1.16.0) has no public hook for encoded media, so the SFU core uses the
private names below -- and only through the accessor functions of this module. At import, each
name is checked against the installed aiortc (attribute present, or the name used by the code
that must keep using it); a mismatch raises ``AiortcInternalsChanged`` listing every broken
reach, so an aiortc upgrade fails at start-up instead of silently decoding media again.

| reach | why |
|---|---|
| ``RTCRtpReceiver.__jitter_buffer`` (replaced before ``receive()``) | take complete encoded frames (released on the RTP marker bit) instead of letting them reach the decoder thread |
| ``RTCRtpReceiver.__started`` | refuse to tap a receiver that is already running |
| ``RTCRtpReceiver.__codecs`` | payload type -> negotiated codec of the published track |
| ``RTCRtpReceiver._send_rtcp_pli`` | ask the publisher for a keyframe |
| ``RtpPacket._data`` (set by ``_handle_rtp_packet``) | the depayloaded bytes of each packet |
| ``RTCRtpSender.__encoder`` (set before the first frame) | install a packetizer, so ``get_encoder`` is never called |
| ``RTCRtpSender._send_keyframe`` (replaced per instance) | a subscriber's PLI/FIR goes to the publisher instead of a (non-existent) encoder |
| ``RTCRtpSender._next_encoded_frame`` (wrapped per instance) and its ``RTCEncodedFrame.audio_level`` | a forwarded audio packet carries the publisher's ssrc-audio-level (aiortc only computes one for frames it encodes) |
| ``RTCRtpSender._handle_rtcp_packet`` (wrapped per instance) | a subscriber's receiver reports (cumulative loss per stream) reach its bandwidth estimate (``bandwidth.py``); aiortc keeps only the last fraction lost in its stats |
| ``RTCRtpReceiver.__remote_bitrate_estimator`` (replaced before ``receive()``; its ``add()`` result is sent as REMB) | a publisher's connection reports a fixed publish ceiling as REMB (``FixedRemb``) instead of aiortc's delay-based estimate, which on a busy SFU reads event-loop latency as queueing and holds a browser's simulcast to its lowest layer |
| ``RTCRtpSender._retransmit`` (wrapped per instance) and ``__rtp_history`` (read: is the packet still there, its size) | a subscriber's NACKs are answered only within a retransmission budget: unpaced, aiortc resends every packet a lossy link NACKs, and on a narrow link that storm (old, higher-layer packets) is most of the loss |
| ``RTCRtpSender._run_rtp`` (replaced per instance, before ``send()``; its code must use exactly the names it used in 1.16.0) with ``__track``, ``__encoder``, ``__rtp_started``/``__rtp_exited``, ``__mid``, ``__rtp_header_extensions_map``, ``__rtp_history`` (a ``rtp_out.LazyRtpHistory``), the SR counters ``__ntp_timestamp``/``__rtp_timestamp``/``__octet_count``/``__packet_count``, and ``RTCDtlsTransport._send_rtp`` | a forwarding sender serializes each packet from a per-frame header template (``rtp_out``) instead of an ``RtpPacket`` + extensions per packet, the largest Python cost of forwarding |
| ``RTCDtlsTransport._state``/``_tx_srtp``/``__tx_bytes``/``__tx_packets``, ``RTCIceTransport._connection``, aioice ``Connection._nominated`` (its pair's ``protocol.transport`` and ``remote_addr``, only for a plain UDP ``StunProtocol``) | the forwarding send loop protects and sends a frame's packets itself, as ``RTCDtlsTransport._send_rtp`` -> aioice ``Connection.sendto`` -> ``StunProtocol.send_data`` would, without four coroutines per packet (a relayed/TURN pair goes through aioice as before) |
| ``Vp8Encoder._packetize``, ``H264Encoder._packetize``/``_split_bitstream`` | RTP payloaders (stateless class/static methods; no codec context is created) |
| simulcast only: ``RTCRtpReceiver.__nack_generator`` (replaced) | one NACK generator per SSRC (aiortc has one per receiver, which would mix the layers' sequence numbers) |
| simulcast only: ``RTCRtpReceiver.__rtx_ssrc`` (filled in) | RTX SSRC -> media SSRC, learnt from repaired-rtp-stream-id (RID simulcast has no SSRCs in the SDP) |
| simulcast only: ``RTCRtpReceiver._handle_rtp_packet`` (wrapped per instance) | see each packet's rtp-stream-id before the receiver does, to learn SSRC -> layer |
| simulcast only: ``RTCDtlsTransport._rtp_router`` (its ``route_rtp`` wrapped per instance, ``ssrc_table``/``mid_table``) | route an unknown SSRC by its MID header extension (aiortc routes by payload type, which a camera and a screen share have in common) |
| simulcast only: ``RTCRtpTransceiver._headerExtensions`` (extended after the offer is applied) | negotiate rtp-stream-id / repaired-rtp-stream-id, which aiortc does not offer |
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any

import aiortc
import aiortc.rtcpeerconnection
import aioice.ice
from aiortc import RTCDtlsTransport, RTCIceTransport, RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver
from aiortc.codecs.base import Encoder
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.rtcdtlstransport import RtpRouter, State as DtlsState
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpHeaderExtensionParameters
from aiortc.rtcrtpreceiver import NackGenerator
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpsender import RTP_HISTORY_SIZE, random_sequence_number
from aiortc.utils import random32

from adapters.webrtc.rtp_out import FrameHeader, LazyRtpHistory, abs_send_time, ntp_time

logger = logging.getLogger(__name__)

VERIFIED_AIORTC_VERSIONS = ("1.16.0",)

RECEIVER_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"
RECEIVER_STARTED = "_RTCRtpReceiver__started"
RECEIVER_CODECS = "_RTCRtpReceiver__codecs"
RECEIVER_SEND_PLI = "_send_rtcp_pli"
PACKET_DEPAYLOADED = "_data"
SENDER_ENCODER = "_RTCRtpSender__encoder"
SENDER_SEND_KEYFRAME = "_send_keyframe"
SENDER_NEXT_FRAME = "_next_encoded_frame"
SENDER_HANDLE_RTCP = "_handle_rtcp_packet"
RECEIVER_NACK = "_RTCRtpReceiver__nack_generator"
RECEIVER_RTX_SSRC = "_RTCRtpReceiver__rtx_ssrc"
RECEIVER_HANDLE_RTP = "_handle_rtp_packet"
TRANSPORT_ROUTER = "_rtp_router"
TRANSCEIVER_HEADER_EXTENSIONS = "_headerExtensions"
RECEIVER_REMB_ESTIMATOR = "_RTCRtpReceiver__remote_bitrate_estimator"
SENDER_RETRANSMIT = "_retransmit"
SENDER_HISTORY = "_RTCRtpSender__rtp_history"
SENDER_RUN_RTP = "_run_rtp"
SENDER_TRACK = "_RTCRtpSender__track"
SENDER_RTP_STARTED = "_RTCRtpSender__rtp_started"
SENDER_RTP_EXITED = "_RTCRtpSender__rtp_exited"
SENDER_MID = "_RTCRtpSender__mid"
SENDER_EXTENSIONS_MAP = "_RTCRtpSender__rtp_header_extensions_map"
SENDER_NTP_TIMESTAMP = "_RTCRtpSender__ntp_timestamp"
SENDER_RTP_TIMESTAMP = "_RTCRtpSender__rtp_timestamp"
SENDER_OCTETS = "_RTCRtpSender__octet_count"
SENDER_PACKETS = "_RTCRtpSender__packet_count"
TRANSPORT_SEND_RTP = "_send_rtp"
TRANSPORT_STATE = "_state"
TRANSPORT_TX_SRTP = "_tx_srtp"
TRANSPORT_TX_BYTES = "_RTCDtlsTransport__tx_bytes"
TRANSPORT_TX_PACKETS = "_RTCDtlsTransport__tx_packets"
ICE_CONNECTION = "_connection"
ICE_NOMINATED = "_nominated"
SEND_RTP_NAMES = frozenset({"CONNECTED", "ConnectionError", "State", TRANSPORT_TX_BYTES, TRANSPORT_TX_PACKETS, "_send",
                            TRANSPORT_STATE, TRANSPORT_TX_SRTP, "is_rtcp", "len", "protect", "protect_rtcp",
                            "transport"})
# Every name aiortc 1.16.0's RTCRtpSender._run_rtp uses: ``forwarding_send_loop`` does the same work, so any
# change to that loop (another name used or dropped) must be looked at before this one runs again.
RUN_RTP_NAMES = frozenset({
    "CancelledError", "ConnectionError", "Exception", "MediaStreamError", "RTP_HISTORY_SIZE", "RtpPacket",
    SENDER_ENCODER, "_RTCRtpSender__log_debug", "_RTCRtpSender__log_warning", SENDER_MID, SENDER_NTP_TIMESTAMP,
    SENDER_OCTETS, SENDER_PACKETS, SENDER_RTP_EXITED, SENDER_EXTENSIONS_MAP, SENDER_HISTORY, SENDER_RTP_STARTED,
    SENDER_RTP_TIMESTAMP, SENDER_TRACK, SENDER_NEXT_FRAME, TRANSPORT_SEND_RTP, "_ssrc", "abs_send_time",
    "asyncio", "audio_level", "clock", "current_ntp_time", "enumerate", "extensions", "format_exc", "len",
    "marker", "mid", "payload", "payloadType", "payloads", "random32", "random_sequence_number",
    "sequence_number", "serialize", "set", "sleep", "ssrc", "stop", "timestamp", "traceback", "transport",
    "uint16_add", "uint32_add"})


class AiortcInternalsChanged(ImportError):
    """The installed aiortc no longer has a private name the forwarding core relies on."""

    def __init__(self, version: str, problems: list[str]) -> None:
        super().__init__(
            f"aiortc {version} breaks adapters.webrtc (verified with {', '.join(VERIFIED_AIORTC_VERSIONS)}): "
            + "; ".join(problems)
        )
        self.problems = problems


def _code_names(func: Callable[..., Any]) -> set[str]:
    return set(getattr(inspect.unwrap(func), "__code__").co_names)


def _params(func: Callable[..., Any]) -> list[str]:
    return list(inspect.signature(func).parameters)


def find_problems(receiver_cls: type = RTCRtpReceiver, sender_cls: type = RTCRtpSender,
                  vp8_cls: type = Vp8Encoder, h264_cls: type = H264Encoder,
                  transport_cls: type | None = RTCDtlsTransport,
                  transceiver_cls: type | None = RTCRtpTransceiver) -> list[str]:
    """Each reach that does not hold for the given classes (defaults: the installed aiortc)."""
    problems: list[str] = []

    def need(ok: bool, what: str) -> None:
        if not ok:
            problems.append(what)

    def names(cls: type, method: str) -> set[str]:
        func = getattr(cls, method, None)
        return _code_names(func) if callable(func) else set()

    init_r, rtp_r = names(receiver_cls, "__init__"), names(receiver_cls, "_handle_rtp_packet")
    receive_r = names(receiver_cls, "receive")
    need(RECEIVER_JITTER_BUFFER in init_r, f"RTCRtpReceiver.__init__ no longer sets {RECEIVER_JITTER_BUFFER}")
    need({RECEIVER_JITTER_BUFFER, "add", RECEIVER_SEND_PLI, PACKET_DEPAYLOADED} <= rtp_r,
         "RTCRtpReceiver._handle_rtp_packet no longer depayloads into packet._data, feeds "
         "__jitter_buffer.add() and sends PLI with _send_rtcp_pli")
    need({RECEIVER_STARTED, RECEIVER_CODECS} <= receive_r & init_r,
         f"RTCRtpReceiver no longer keeps {RECEIVER_STARTED} / {RECEIVER_CODECS}")
    need(RECEIVER_REMB_ESTIMATOR in init_r and {RECEIVER_REMB_ESTIMATOR, "add", "pack_remb_fci"} <= rtp_r,
         f"RTCRtpReceiver._handle_rtp_packet no longer sends REMB from {RECEIVER_REMB_ESTIMATOR}.add()")
    pli = getattr(receiver_cls, RECEIVER_SEND_PLI, None)
    need(callable(pli) and inspect.iscoroutinefunction(pli) and _params(pli) == ["self", "media_ssrc"],
         "RTCRtpReceiver._send_rtcp_pli(self, media_ssrc) coroutine is gone or changed")

    init_s, next_s = names(sender_cls, "__init__"), names(sender_cls, "_next_encoded_frame")
    need(SENDER_ENCODER in init_s and {SENDER_ENCODER, "pack", "get_encoder"} <= next_s,
         f"RTCRtpSender._next_encoded_frame no longer uses a pre-set {SENDER_ENCODER} and its pack()")
    need(SENDER_SEND_KEYFRAME in names(sender_cls, "_handle_rtcp_packet"),
         "RTCRtpSender._handle_rtcp_packet no longer calls self._send_keyframe() on PLI/FIR")
    need(callable(getattr(sender_cls, SENDER_SEND_KEYFRAME, None)), "RTCRtpSender._send_keyframe is gone")
    nxt = getattr(sender_cls, SENDER_NEXT_FRAME, None)
    need(callable(nxt) and inspect.iscoroutinefunction(nxt) and _params(nxt) == ["self", "codec"]
         and {SENDER_NEXT_FRAME, "audio_level"} <= names(sender_cls, "_run_rtp"),
         "RTCRtpSender._run_rtp no longer takes self._next_encoded_frame(codec) and its frame's audio_level")

    rtcp = getattr(sender_cls, SENDER_HANDLE_RTCP, None)
    need(callable(rtcp) and inspect.iscoroutinefunction(inspect.unwrap(rtcp))
         and _params(inspect.unwrap(rtcp)) == ["self", "packet"]
         and "target_bitrate" in names(sender_cls, SENDER_HANDLE_RTCP),
         "RTCRtpSender._handle_rtcp_packet(self, packet) coroutine is gone or no longer sets the encoder's "
         "target_bitrate on REMB")

    retransmit = getattr(sender_cls, SENDER_RETRANSMIT, None)
    need(callable(retransmit) and inspect.iscoroutinefunction(retransmit)
         and _params(retransmit) == ["self", "sequence_number"]
         and SENDER_RETRANSMIT in names(sender_cls, SENDER_HANDLE_RTCP),
         "RTCRtpSender._handle_rtcp_packet no longer answers a NACK with self._retransmit(sequence_number)")
    need(SENDER_HISTORY in init_s and {SENDER_HISTORY, "RTP_HISTORY_SIZE"} <= names(sender_cls, SENDER_RETRANSMIT),
         f"RTCRtpSender._retransmit no longer resends from {SENDER_HISTORY}[seq % RTP_HISTORY_SIZE]")

    run_rtp = getattr(sender_cls, SENDER_RUN_RTP, None)
    need(callable(run_rtp) and inspect.iscoroutinefunction(inspect.unwrap(run_rtp))
         and _params(inspect.unwrap(run_rtp)) == ["self", "codec"] and names(sender_cls, SENDER_RUN_RTP) == RUN_RTP_NAMES
         and SENDER_RUN_RTP in names(sender_cls, "send")
         and SENDER_TRACK in names(sender_cls, "replaceTrack")
         and {SENDER_RTP_STARTED, SENDER_RTP_EXITED, SENDER_MID, SENDER_EXTENSIONS_MAP,
              SENDER_NTP_TIMESTAMP, SENDER_RTP_TIMESTAMP, SENDER_OCTETS, SENDER_PACKETS} <= init_s,
         "RTCRtpSender._run_rtp(self, codec) changed (names it uses differ from aiortc 1.16.0's), send() no longer "
         "starts self._run_rtp, or __init__ no longer sets the send loop's counters")
    if transport_cls is not None:
        send_rtp = getattr(transport_cls, TRANSPORT_SEND_RTP, None)
        need(callable(send_rtp) and inspect.iscoroutinefunction(send_rtp) and _params(send_rtp) == ["self", "data"]
             and names(transport_cls, TRANSPORT_SEND_RTP) == SEND_RTP_NAMES,
             "RTCDtlsTransport._send_rtp(self, data) changed (it no longer just checks _state, protects with "
             "_tx_srtp, sends with transport._send and counts __tx_bytes/__tx_packets)")
        need({ICE_CONNECTION, "_send"} <= names(RTCIceTransport, "__init__")
             and _code_names(aioice.ice.Connection.send) == {"sendto"}
             and {ICE_NOMINATED, "protocol", "remote_addr", "send_data"} <= _code_names(aioice.ice.Connection.sendto)
             and _code_names(aioice.ice.StunProtocol.send_data) == {"transport", "sendto"},
             "aioice Connection.send no longer sends on its nominated pair's protocol.send_data(data, remote_addr), "
             "or StunProtocol.send_data no longer is transport.sendto")

    need(callable(getattr(vp8_cls, "_packetize", None)) and _params(vp8_cls._packetize) == ["buffer", "picture_id"],
         "Vp8Encoder._packetize(buffer, picture_id) is gone or changed")
    need(callable(getattr(h264_cls, "_packetize", None)) and callable(getattr(h264_cls, "_split_bitstream", None)),
         "H264Encoder._packetize / _split_bitstream are gone")

    # simulcast (RID) receive
    need({RECEIVER_NACK, RECEIVER_RTX_SSRC} <= init_r and {RECEIVER_NACK, RECEIVER_RTX_SSRC, "missing"} <= rtp_r,
         f"RTCRtpReceiver._handle_rtp_packet no longer uses {RECEIVER_NACK}.add()/.missing and {RECEIVER_RTX_SSRC}")
    handle = getattr(receiver_cls, RECEIVER_HANDLE_RTP, None)
    need(callable(handle) and inspect.iscoroutinefunction(handle)
         and _params(handle) == ["self", "packet", "arrival_time_ms"],
         "RTCRtpReceiver._handle_rtp_packet(self, packet, arrival_time_ms) coroutine is gone or changed")
    need(callable(getattr(NackGenerator, "add", None)), "aiortc.rtcrtpreceiver.NackGenerator.add is gone")
    if transport_cls is not None:
        need(TRANSPORT_ROUTER in names(transport_cls, "__init__")
             and {TRANSPORT_ROUTER, "route_rtp", RECEIVER_HANDLE_RTP} <= names(transport_cls, "_handle_rtp_data"),
             f"RTCDtlsTransport._handle_rtp_data no longer routes with {TRANSPORT_ROUTER}.route_rtp()")
        need({"ssrc_table", "mid_table"} <= names(RtpRouter, "register_receiver")
             and "ssrc_table" in names(RtpRouter, "route_rtp"),
             "RtpRouter no longer keeps ssrc_table / mid_table")
    if transceiver_cls is not None:
        need(TRANSCEIVER_HEADER_EXTENSIONS in names(transceiver_cls, "__init__")
             and TRANSCEIVER_HEADER_EXTENSIONS in _code_names(
                 aiortc.rtcpeerconnection.create_media_description_for_transceiver),
             f"RTCRtpTransceiver.{TRANSCEIVER_HEADER_EXTENSIONS} no longer makes the m-section's extmaps")
    return problems


def check(version: str = aiortc.__version__, **classes: type) -> None:
    problems = find_problems(**classes)
    if problems:
        raise AiortcInternalsChanged(version, problems)


check()


# --- accessors: the only code that touches the names above ------------------------------------

def receiver_started(receiver: RTCRtpReceiver) -> bool:
    return bool(getattr(receiver, RECEIVER_STARTED))


def replace_jitter_buffer(receiver: RTCRtpReceiver, buffer: Any) -> None:
    """``buffer.add(packet) -> (pli_wanted, None)``; packets carry ``depayloaded(packet)``."""
    setattr(receiver, RECEIVER_JITTER_BUFFER, buffer)


def receiver_codec(receiver: RTCRtpReceiver, payload_type: int) -> RTCRtpCodecParameters | None:
    return getattr(receiver, RECEIVER_CODECS).get(payload_type)


def receiver_codecs(receiver: RTCRtpReceiver) -> Iterable[RTCRtpCodecParameters]:
    return list(getattr(receiver, RECEIVER_CODECS).values())


async def send_pli(receiver: RTCRtpReceiver, media_ssrc: int) -> None:
    await getattr(receiver, RECEIVER_SEND_PLI)(media_ssrc)


class FixedRemb:
    """Stands in for a video receiver's RemoteBitrateEstimator: the same ``add()``, answering
    ``(bitrate, ssrcs)`` -- sent by aiortc as REMB -- at most once per ``interval_ms`` of arrival
    time, always ``bitrate``: the sender may go up to that, its own loss-based control does the rest."""

    def __init__(self, bitrate: int, interval_ms: int = 1000) -> None:
        self.bitrate = int(bitrate)
        self.interval_ms = interval_ms
        self.ssrcs: dict[int, int] = {}  # ssrc -> last arrival (ms)
        self._sent_ms: int | None = None

    def add(self, arrival_time_ms: int, abs_send_time: int, payload_size: int,
            ssrc: int) -> tuple[int, list[int]] | None:
        self.ssrcs[ssrc] = arrival_time_ms
        if self._sent_ms is not None and arrival_time_ms - self._sent_ms < self.interval_ms:
            return None
        self._sent_ms = arrival_time_ms
        stale = [s for s, t in self.ssrcs.items() if arrival_time_ms - t > 2 * self.interval_ms]
        for s in stale:
            del self.ssrcs[s]
        return self.bitrate, sorted(self.ssrcs)


def fix_remb(receiver: RTCRtpReceiver, bitrate: int) -> None:
    """Make ``receiver`` (video, not started) report ``bitrate`` as REMB instead of aiortc's estimate."""
    if getattr(receiver, RECEIVER_REMB_ESTIMATOR) is not None:
        setattr(receiver, RECEIVER_REMB_ESTIMATOR, FixedRemb(bitrate))


def depayloaded(packet: Any) -> bytes:
    return getattr(packet, PACKET_DEPAYLOADED)


def install_packetizer(sender: RTCRtpSender, packetizer: Encoder) -> None:
    if getattr(sender, SENDER_ENCODER) is not None:
        raise RuntimeError("the sender already has an encoder: install the packetizer before it starts")
    setattr(sender, SENDER_ENCODER, packetizer)


def sender_encoder(sender: RTCRtpSender) -> Encoder | None:
    return getattr(sender, SENDER_ENCODER)


def sender_ssrc(sender: RTCRtpSender) -> int | None:
    """The SSRC ``sender`` sends its media with (what receiver reports about it name)."""
    return getattr(sender, "_ssrc", None)


def sender_last_timestamp(sender: RTCRtpSender) -> int | None:
    """The RTP timestamp of the last packet ``sender`` sent, as sent: aiortc adds a random origin to the
    timestamps its encoder (our packetizer) gives, so only differences between two of these mean anything."""
    return getattr(sender, SENDER_RTP_TIMESTAMP, None)


def route_keyframe_requests(sender: RTCRtpSender, request: Callable[[], None]) -> None:
    setattr(sender, SENDER_SEND_KEYFRAME, request)


def forward_audio_levels(sender: RTCRtpSender, level: Callable[[], int | None]) -> None:
    """Each frame ``sender`` sends gets ``level()`` (RFC 6464 level, 0 loudest .. 127 silence; read
    right after the frame was taken from the track) as its ssrc-audio-level header extension."""
    original = getattr(sender, SENDER_NEXT_FRAME)

    async def next_frame(codec: RTCRtpCodecParameters) -> Any:
        frame = await original(codec)
        if frame is not None and (value := level()) is not None:
            frame.audio_level = -value  # aiortc holds dBov (<= 0) and writes its negation
        return frame

    setattr(sender, SENDER_NEXT_FRAME, next_frame)


def observe_rtcp(sender: RTCRtpSender, observe: Callable[[Any], None]) -> None:
    """``observe(packet)`` sees each RTCP packet aiortc routes to ``sender`` (receiver and sender
    reports naming its SSRC, feedback about it), before aiortc handles it. Must not raise or block."""
    original = getattr(sender, SENDER_HANDLE_RTCP)

    async def handle(packet: Any) -> None:
        observe(packet)
        await original(packet)

    setattr(sender, SENDER_HANDLE_RTCP, handle)


def gate_retransmissions(sender: RTCRtpSender, allow: Callable[[int, int], bool]) -> None:
    """``sender`` answers a NACKed packet it still has only when ``allow(size in bytes, its RTP timestamp)``
    says so (asked once per such packet; a NACK for a packet already gone from aiortc's history asks nothing)."""
    original = getattr(sender, SENDER_RETRANSMIT)

    async def retransmit(sequence_number: int) -> None:
        packet = getattr(sender, SENDER_HISTORY, {}).get(sequence_number % RTP_HISTORY_SIZE)
        if packet is None or packet.sequence_number != sequence_number:
            return
        if allow(12 + len(packet.payload), packet.timestamp):
            await original(sequence_number)

    setattr(sender, SENDER_RETRANSMIT, retransmit)


def send_with_templates(sender: RTCRtpSender) -> None:
    """``sender`` (not started yet) sends with ``forwarding_send_loop`` instead of aiortc's ``_run_rtp``."""
    async def run_rtp(codec: RTCRtpCodecParameters) -> None:
        await forwarding_send_loop(sender, codec)

    setattr(sender, SENDER_RUN_RTP, run_rtp)


async def forwarding_send_loop(sender: RTCRtpSender, codec: RTCRtpCodecParameters) -> None:
    """aiortc 1.16.0's ``RTCRtpSender._run_rtp``, step for step (frames from ``_next_encoded_frame``, the
    same sequence numbers, timestamps, marker bits, header extensions and bytes on the wire, history for
    NACK/RTX, SR and stats counters), with the header bytes from a ``FrameHeader`` built once per frame."""
    getattr(sender, SENDER_RTP_STARTED).set()
    history = LazyRtpHistory(getattr(sender, SENDER_MID))
    setattr(sender, SENDER_HISTORY, history)
    headers: dict[int | None, FrameHeader] = {}  # by audio level: the extensions differ only in it
    payload_type = codec.payloadType
    sequence_number = random_sequence_number()
    timestamp_origin = random32()
    clock = time.time
    try:
        while True:
            if not sender.track:
                await asyncio.sleep(0.02)
                continue
            frame = await getattr(sender, SENDER_NEXT_FRAME)(codec)
            if frame is None:
                continue
            timestamp = (timestamp_origin + frame.timestamp) & 0xFFFFFFFF
            level = frame.audio_level
            header = headers.get(level)
            if header is None:
                header = headers[level] = FrameHeader(getattr(sender, SENDER_EXTENSIONS_MAP),
                                                      getattr(sender, SENDER_MID), level)
            packet = header.packet
            ssrc = sender._ssrc
            dtls = sender.transport
            route = _udp_route(dtls)
            send = getattr(dtls, TRANSPORT_SEND_RTP)
            payloads = frame.payloads
            last = len(payloads) - 1
            sent = octets = wire = 0
            try:
                for i, payload in enumerate(payloads):
                    marker = i == last
                    send_time = abs_send_time(clock())
                    history[sequence_number % RTP_HISTORY_SIZE] = (
                        payload_type, sequence_number, timestamp, ssrc, marker, payload, send_time, level)
                    data = packet(payload_type, marker, sequence_number, timestamp, ssrc, send_time, payload)
                    if route is None or 192 <= data[1] <= 208:  # _send_rtp would take that for RTCP
                        await send(data)
                    else:
                        data = route[0](data)
                        route[1](data, route[2])
                        wire += len(data)
                    sent += 1
                    octets += len(payload)
                    sequence_number = (sequence_number + 1) & 0xFFFF
            finally:
                if wire:  # what RTCDtlsTransport._send_rtp counts per packet
                    setattr(dtls, TRANSPORT_TX_BYTES, getattr(dtls, TRANSPORT_TX_BYTES) + wire)
                    setattr(dtls, TRANSPORT_TX_PACKETS, getattr(dtls, TRANSPORT_TX_PACKETS) + sent)
                if sent:  # what aiortc's loop sets after each packet, once per frame (nothing reads it between)
                    setattr(sender, SENDER_NTP_TIMESTAMP, ntp_time(clock()))
                    setattr(sender, SENDER_RTP_TIMESTAMP, timestamp)
                    setattr(sender, SENDER_OCTETS, getattr(sender, SENDER_OCTETS) + octets)
                    setattr(sender, SENDER_PACKETS, getattr(sender, SENDER_PACKETS) + sent)
    except (asyncio.CancelledError, ConnectionError, MediaStreamError):
        pass
    except Exception:  # RTCRtpSender.stop() waits for __rtp_exited: it must be set whatever happened
        logger.warning("forwarding send loop (%s): %s", sender.kind, traceback.format_exc())
    track = sender.track
    if track:
        track.stop()
        setattr(sender, SENDER_TRACK, None)
    setattr(sender, SENDER_ENCODER, None)
    getattr(sender, SENDER_RTP_EXITED).set()


def _udp_route(dtls: RTCDtlsTransport) -> tuple[Callable[[bytes], bytes], Callable[[bytes, Any], None], Any] | None:
    """(SRTP protect, datagram send, remote address) that ``dtls._send_rtp`` would go through for an RTP
    packet now: its SRTP session and the nominated ICE pair's UDP socket; None when that is not a plain
    UDP pair (TURN wraps the data) or the transport is not connected (``_send_rtp`` raises then)."""
    if getattr(dtls, TRANSPORT_STATE) != DtlsState.CONNECTED:
        return None
    pair = getattr(getattr(dtls.transport, ICE_CONNECTION), ICE_NOMINATED).get(1)
    if pair is None or type(pair.protocol).send_data is not aioice.ice.StunProtocol.send_data:
        return None
    return getattr(dtls, TRANSPORT_TX_SRTP).protect, pair.protocol.transport.sendto, pair.remote_addr


def vp8_payloads(frame: bytes, picture_id: int) -> list[bytes]:
    return Vp8Encoder._packetize(frame, picture_id)


def h264_payloads(access_unit: bytes) -> list[bytes]:
    return H264Encoder._packetize(H264Encoder._split_bitstream(access_unit))


# --- simulcast (RID) receive -------------------------------------------------------------------

class SsrcNackGenerators:
    """Stands in for the receiver's NackGenerator: one generator per SSRC, so each layer's NACKs name
    that layer's own lost sequence numbers (the receiver reads ``missing`` right after ``add``)."""

    def __init__(self) -> None:
        self._by_ssrc: dict[int, NackGenerator] = {}
        self.missing: set[int] = set()

    def add(self, packet: Any) -> bool:
        generator = self._by_ssrc.get(packet.ssrc)
        if generator is None:
            generator = self._by_ssrc[packet.ssrc] = NackGenerator()
        missed = generator.add(packet)
        self.missing = generator.missing
        return missed

    def missing_of(self, ssrc: int) -> set[int]:
        generator = self._by_ssrc.get(ssrc)
        return set(generator.missing) if generator is not None else set()


def receive_simulcast(receiver: RTCRtpReceiver, observe: Callable[[Any], None]) -> dict[int, int]:
    """Prepare a (not yet started) video receiver for RID simulcast: NACKs per SSRC, ``observe(packet)``
    called with each RTP packet before the receiver handles it. Returns the receiver's RTX SSRC ->
    media SSRC table, for the caller to fill in as it learns the repair streams."""
    nacks = getattr(receiver, RECEIVER_NACK)
    if nacks is not None:
        setattr(receiver, RECEIVER_NACK, SsrcNackGenerators())
    handle = getattr(receiver, RECEIVER_HANDLE_RTP)

    async def handle_rtp_packet(packet: Any, arrival_time_ms: int) -> None:
        observe(packet)
        await handle(packet, arrival_time_ms)

    setattr(receiver, RECEIVER_HANDLE_RTP, handle_rtp_packet)
    rtx: dict[int, int] = getattr(receiver, RECEIVER_RTX_SSRC)
    return rtx


def nack_generator(receiver: RTCRtpReceiver) -> Any:
    return getattr(receiver, RECEIVER_NACK)


def route_new_ssrcs_by_mid(receiver: RTCRtpReceiver) -> None:
    """Packets of an SSRC the receiver's transport does not know yet go to the receiver registered for
    their MID (RID simulcast layers carry no SSRC in the SDP). Once per transport."""
    router = getattr(receiver.transport, TRANSPORT_ROUTER)
    if getattr(router, "_confero_by_mid", False):
        return
    original = router.route_rtp
    ssrc_table, mid_table = router.ssrc_table, router.mid_table

    def route_rtp(packet: Any) -> Any:
        if packet.ssrc not in ssrc_table:
            mid = packet.extensions.mid
            if mid is not None and mid in mid_table:
                ssrc_table[packet.ssrc] = mid_table[mid]
        return original(packet)

    router.route_rtp = route_rtp
    router._confero_by_mid = True


def add_header_extensions(transceiver: RTCRtpTransceiver, extensions: Iterable[tuple[int, str]]) -> None:
    """Negotiate these (id, uri) header extensions on ``transceiver`` too (call after applying the
    remote offer, before ``createAnswer``): they appear in the answer and the receiver parses them."""
    current: list[RTCRtpHeaderExtensionParameters] = getattr(transceiver, TRANSCEIVER_HEADER_EXTENSIONS)
    known = {e.uri for e in current}
    setattr(transceiver, TRANSCEIVER_HEADER_EXTENSIONS, current + [
        RTCRtpHeaderExtensionParameters(id=i, uri=uri) for i, uri in extensions if uri not in known])


def use_host_addresses(addresses: Iterable[str]) -> None:
    """Makes ICE gather host candidates on exactly these addresses (aioice would skip 127.0.0.1).

    Process-wide, like aioice's own lookup: for a media server pinned to known interfaces, and for
    tests that run inside a private network namespace where loopback is the only interface.
    """
    import aioice.ice

    chosen = [a for a in addresses]
    if not callable(getattr(aioice.ice, "get_host_addresses", None)):
        raise AiortcInternalsChanged(aiortc.__version__, ["aioice.ice.get_host_addresses is gone"])
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: [
        a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]
