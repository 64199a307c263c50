"""The SFU's checks on negotiation input, as pure text (the WebRTC behaviour is in
tests/integration/test_sfu_negotiation_input.py)."""

from __future__ import annotations

import pytest

from adapters.webrtc.negotiation_input import (
    NegotiationLimits,
    check_candidate,
    checked_answer,
    checked_offer,
    checked_sdp,
)
from domain.rooms.errors import InvalidSignal
from tests.unit.test_sfu_sdp_numbering import CHROMIUM_OFFER, HEAD, section

DEFAULTS = NegotiationLimits()
MDNS = "a=candidate:1 1 udp 2122260223 a1b2c3.local 54321 typ host"
HOST = "a=candidate:2 1 udp 2122260223 192.0.2.7 54321 typ host"


def with_candidates(sdp: str, *lines: str) -> str:
    return sdp + "".join(f"{line}\r\n" for line in lines)


@pytest.mark.parametrize("text", [
    "hello world", "", "v=0", "v=1\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n",
    "v=0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n",
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nhello world\r\n",
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio nine RTP 111\r\n",
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF\r\n",
])
def test_text_that_is_not_an_sdp_with_media_is_an_invalid_signal(text):
    with pytest.raises(InvalidSignal) as refused:
        checked_sdp(text)
    assert refused.value.details["field"] == "sdp"


def test_a_browser_offer_passes_unchanged_and_counts_its_audio_and_video_sections():
    sdp, publishing = checked_offer(CHROMIUM_OFFER, DEFAULTS)
    assert sdp == CHROMIUM_OFFER and publishing == 2


def test_an_offer_with_more_sections_than_allowed_is_refused_naming_the_limit():
    many = HEAD + "".join(section("audio", str(i), [(111, "opus/48000/2", "")], []) for i in range(9))
    with pytest.raises(InvalidSignal) as refused:
        checked_offer(many, DEFAULTS)
    assert refused.value.details == {"field": "sdp", "limit": 8}
    assert checked_offer(many, NegotiationLimits(max_sections_per_offer=9))[1] == 9


def test_a_data_channel_section_counts_against_the_offer_but_publishes_nothing():
    data = "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:2\r\n"
    assert checked_offer(CHROMIUM_OFFER + data, DEFAULTS)[1] == 2


def test_mdns_candidates_are_dropped_from_offers_and_answers_and_kept_when_allowed():
    sdp = with_candidates(CHROMIUM_OFFER, MDNS, HOST)
    for cleaned in (checked_offer(sdp, DEFAULTS)[0], checked_answer(sdp, DEFAULTS)):
        assert ".local" not in cleaned and HOST in cleaned
    assert MDNS in checked_offer(sdp, NegotiationLimits(allow_mdns=True))[0]


@pytest.mark.parametrize("address", ["a1b2c3.local", "A1B2C3.LOCAL", "host.local."])
def test_a_trickled_mdns_candidate_is_refused_unless_allowed(address):
    candidate = f"candidate:1 1 udp 2122260223 {address} 54321 typ host"
    with pytest.raises(InvalidSignal) as refused:
        check_candidate(candidate, DEFAULTS)
    assert refused.value.details == {"field": "candidate"}
    check_candidate(candidate, NegotiationLimits(allow_mdns=True))
    check_candidate(HOST.removeprefix("a="), DEFAULTS)
