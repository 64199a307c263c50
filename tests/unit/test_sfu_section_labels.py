"""Which of a participant's sections a published track came from: the second video section is its
screen share (docs/signaling.md 13.7), named in the msid of every m-line that forwards it."""

from __future__ import annotations

from typing import Any

import pytest
from aiortc import RTCPeerConnection, VideoStreamTrack
from aiortc.mediastreams import AudioStreamTrack

from adapters.webrtc.sfu_peer import SfuPeer, section_label
from domain.shared.ids import UserId


@pytest.mark.parametrize(("kind", "index", "label"), [
    ("audio", 0, "audio"), ("video", 0, "video"), ("video", 1, "screen"), ("video", 2, "video-3"),
    ("audio", 1, "audio-2"),
])
def test_sections_are_named_by_kind_and_place_and_the_second_video_is_the_screen(kind, index, label):
    assert section_label(kind, index) == label


async def published_after(directions: list[tuple[str, str]]) -> list[str]:
    """The published keys of an SfuPeer after a client's offer with these (kind, direction) sections."""
    client, server = RTCPeerConnection(), RTCPeerConnection()
    sent: list[Any] = []

    async def send(user_id: UserId, kind: str, data: dict[str, Any]) -> None:
        sent.append(kind)

    peer = SfuPeer("room/ann", UserId("ann"), server, send, on_audio=lambda *_: None)
    try:
        for kind, direction in directions:
            track = (AudioStreamTrack() if kind == "audio" else VideoStreamTrack()) if direction != "recvonly" else None
            client.addTransceiver(track or kind, direction=direction)
        await client.setLocalDescription(await client.createOffer())
        await peer.accept_offer(client.localDescription.sdp)
        assert sent == ["answer"]
        return list(peer.published)
    finally:
        await peer.close()
        await client.close()


async def test_a_camera_and_a_screen_section_publish_video_and_screen():
    assert await published_after([("audio", "sendrecv"), ("video", "sendrecv"), ("video", "sendrecv")]) == [
        "audio", "video", "screen"]


async def test_without_a_camera_the_second_video_section_is_still_the_screen():
    assert await published_after([("audio", "sendrecv"), ("video", "recvonly"), ("video", "sendrecv")]) == [
        "audio", "screen"]
