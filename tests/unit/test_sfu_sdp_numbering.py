"""The SFU's offers keep the payload types and header-extension ids of the participant's first offer."""

from __future__ import annotations

from adapters.webrtc.sdp import Numbering, codec_keys, directions, extensions, msid_of, pin, sections

LEVEL, MID = "urn:ietf:params:rtp-hdrext:ssrc-audio-level", "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"


def section(kind: str, mid: str, pts: list[tuple[int, str, str]], exts: list[tuple[int, str]],
            direction: str = "sendrecv", msid: str = "s t") -> str:
    lines = [f"m={kind} 9 UDP/TLS/RTP/SAVPF {' '.join(str(p) for p, _, _ in pts)}", "c=IN IP4 0.0.0.0",
             f"a={direction}", f"a=mid:{mid}", f"a=msid:{msid}"]
    lines += [f"a=extmap:{i} {uri}" for i, uri in exts]
    for pt, rtpmap, fmtp in pts:
        lines.append(f"a=rtpmap:{pt} {rtpmap}")
        lines.append(f"a=rtcp-fb:{pt} nack")
        if fmtp:
            lines.append(f"a=fmtp:{pt} {fmtp}")
    return "\r\n".join(lines) + "\r\n"


HEAD = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
CHROMIUM_OFFER = HEAD + section("audio", "0", [(111, "opus/48000/2", "minptime=10;useinbandfec=1"),
                                               (63, "red/48000/2", "111/111"), (9, "G722/8000", "")],
                                [(1, LEVEL), (4, MID)]) \
    + section("video", "1", [(96, "VP8/90000", ""), (97, "rtx/90000", "apt=96"),
                             (102, "H264/90000", "packetization-mode=1;profile-level-id=42001f")],
              [(2, ABS), (4, MID)])


def aiortc_reoffer(*extra: str) -> str:
    """What aiortc 1.16's createOffer writes for the same connection: its own default numbering."""
    audio = section("audio", "0", [(96, "opus/48000/2", "")], [(1, MID), (2, LEVEL)], "recvonly")
    video = section("video", "1", [(97, "VP8/90000", ""), (98, "rtx/90000", "apt=97")], [(1, MID), (3, ABS)],
                    "recvonly")
    return HEAD + audio + video + "".join(extra)


def numbering_in(sdp: str) -> list[tuple[str, dict[int, object], dict[str, int]]]:
    return [(s[0].split()[0], codec_keys(s), extensions(s)) for s in sections(sdp)[1]]


def test_an_aiortc_reoffer_gets_the_browsers_payload_types_and_extension_ids_back() -> None:
    pinned = pin(aiortc_reoffer(), Numbering.from_sdp(CHROMIUM_OFFER))
    (_, audio_pts, audio_ext), (_, video_pts, video_ext) = numbering_in(pinned)
    assert audio_pts == {111: ("opus", 48000, 2)}
    assert video_pts == {96: ("vp8", 90000, 1), 97: ("rtx", 90000, ("vp8", 90000, 1))}
    assert audio_ext == {MID: 4, LEVEL: 1} and video_ext == {MID: 4, ABS: 2}
    assert "a=fmtp:97 apt=96" in pinned and "a=rtcp-fb:96 nack" in pinned and "m=video 9 UDP/TLS/RTP/SAVPF 96 97" in pinned


def test_new_sendonly_m_lines_use_the_same_numbering_as_the_first_ones() -> None:
    new_audio = section("audio", "2", [(96, "opus/48000/2", "")], [(1, MID), (2, LEVEL)], "sendonly", "x track-a")
    new_video = section("video", "3", [(97, "VP8/90000", ""), (98, "rtx/90000", "apt=97")], [(1, MID), (3, ABS)],
                        "sendonly", "y track-v")
    numbering = Numbering.from_sdp(CHROMIUM_OFFER)
    first = pin(aiortc_reoffer(new_audio, new_video), numbering)
    assert [n[1:] for n in numbering_in(first)[2:]] == [n[1:] for n in numbering_in(first)[:2]]
    again = pin(aiortc_reoffer(new_audio, new_video), numbering)
    assert again == first  # stable across renegotiations


def test_a_codec_the_browser_never_offered_takes_a_free_payload_type_and_keeps_it() -> None:
    numbering = Numbering.from_sdp(CHROMIUM_OFFER)
    h264 = section("video", "2", [(96, "H264/90000", "packetization-mode=0;profile-level-id=42e01f")], [(1, MID)])
    first = numbering_in(pin(HEAD + h264, numbering))[0][1]
    (pt, key), = first.items()
    assert pt not in (111, 63, 9, 96, 97, 102) and key[0] == "h264"
    assert numbering_in(pin(HEAD + h264, numbering))[0][1] == first


def test_an_extension_the_browser_never_offered_is_dropped_when_its_id_is_taken() -> None:
    numbering = Numbering.from_sdp(CHROMIUM_OFFER)
    video = section("video", "1", [(97, "VP8/90000", "")], [(1, MID), (4, "urn:example:other")])
    assert extensions(sections(pin(HEAD + video, numbering))[1][0]) == {MID: 4}


def test_msids_are_rewritten_for_forwarded_tracks_and_directions_kept() -> None:
    sendonly = section("video", "2", [(97, "VP8/90000", "")], [(1, MID)], "sendonly", "random-stream track-uuid")
    inactive = section("audio", "3", [(96, "opus/48000/2", "")], [(1, MID)], "inactive", "s2 other-uuid")
    pinned = pin(HEAD + sendonly + inactive, Numbering.from_sdp(CHROMIUM_OFFER),
                 {"track-uuid": ("alice-id", "alice-id-video")})
    assert msid_of(pinned) == {"2": "alice-id alice-id-video", "3": "s2 other-uuid"}
    assert directions(pinned) == {"2": "sendonly", "3": "inactive"}
