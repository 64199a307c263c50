"""The forwarding send loop's packets (adapters/webrtc/rtp_out.py) are byte for byte aiortc's."""

from __future__ import annotations

import time

import pytest
from aiortc import clock
from aiortc.rtcrtpparameters import (RTCRtpCodecParameters, RTCRtpHeaderExtensionParameters,
                                     RTCRtpSendParameters)
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from adapters.webrtc.rtp_out import FrameHeader, LazyRtpHistory, abs_send_time, ntp_time

MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
AST = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"


def extensions_map(*extensions: tuple[int, str]) -> HeaderExtensionsMap:
    mapping = HeaderExtensionsMap()
    mapping.configure(RTCRtpSendParameters(
        codecs=[RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)],
        headerExtensions=[RTCRtpHeaderExtensionParameters(id=i, uri=uri) for i, uri in extensions]))
    return mapping


def aiortc_packet(payload_type: int, marker: bool, seq: int, ts: int, ssrc: int, send_time: int,
                  payload: bytes, mid: str | None, level: int | None) -> RtpPacket:
    """What aiortc's RTCRtpSender._run_rtp builds for one packet."""
    packet = RtpPacket(payload_type=payload_type, sequence_number=seq, timestamp=ts)
    packet.ssrc, packet.payload, packet.marker = ssrc, payload, int(marker)
    packet.extensions.abs_send_time = send_time
    packet.extensions.mid = mid
    if level is not None:
        packet.extensions.audio_level = (False, -level)
    return packet


@pytest.mark.parametrize("negotiated, mid, level", [
    ([(1, MID), (3, AST)], "0", None),
    ([(4, MID), (2, AST), (1, LEVEL)], "1", -35),
    ([(4, MID), (2, AST), (1, LEVEL)], "1", 0),
    ([(1, MID)], "video-long-mid", None),  # no abs-send-time: nothing changes per packet
    ([(2, AST)], None, None),
    ([], "0", None),  # no extension at all: no X bit
    ([(15, MID), (3, AST)], "0", None),  # id 15: two-byte header extensions
])
def test_packets_from_the_frame_header_are_the_bytes_aiortc_serializes(
        negotiated: list[tuple[int, str]], mid: str | None, level: int | None) -> None:
    mapping = extensions_map(*negotiated)
    header = FrameHeader(mapping, mid, level)
    for marker, seq, ts, send_time, payload in [(False, 0, 0, 0, b"\x90\x80" + bytes(1000)),
                                                 (True, 65535, 0xFFFFFFFF, 0xFFFFFF, b"x"),
                                                 (True, 1234, 99999, 0x12AB34, bytes(range(200)))]:
        expected = aiortc_packet(111, marker, seq, ts, 0xDEADBEEF, send_time, payload, mid, level).serialize(mapping)
        assert header.packet(111, marker, seq, ts, 0xDEADBEEF, send_time, payload) == expected


def test_the_history_gives_the_packet_aiortc_would_have_kept_and_keeps_it() -> None:
    history = LazyRtpHistory("3")
    history[7] = (96, 7, 1000, 42, True, b"payload", 0x1234, -20)
    history[8] = (96, 8, 1000, 42, False, b"other", 0x1235, None)
    packet = history.get(7)
    assert packet is history.get(7) is history[7]
    expected = aiortc_packet(96, True, 7, 1000, 42, 0x1234, b"payload", "3", -20)
    mapping = extensions_map((1, MID), (2, AST), (3, LEVEL))
    assert packet.serialize(mapping) == expected.serialize(mapping)
    assert (packet.sequence_number, packet.payload, packet.marker) == (7, b"payload", 1)
    assert history[8].extensions.audio_level is None and history[8].marker == 0
    assert history.get(9) is None and history.get(9, "none") == "none"


def test_send_times_agree_with_aiortcs_ntp_clock() -> None:
    before = clock.current_ntp_time()
    ours = ntp_time(time.time())
    after = clock.current_ntp_time()
    assert before - (1 << 22) <= ours <= after + (1 << 22)  # within ~1 ms (microsecond clocks, rounding)
    for now in (time.time(), 1_700_000_000.999_999, 1_700_000_000.0):
        from_ntp = (ntp_time(now) >> 14) & 0xFFFFFF
        assert (abs_send_time(now) - from_ntp) % (1 << 24) in (0, 1, (1 << 24) - 1)  # float rounding, last bit
