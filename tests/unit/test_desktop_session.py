"""The desktop client's session layer (clients/desktop, no Qt) against the real app, in process: it speaks
only the published HTTP API and signaling protocol.  Media needs a private network namespace: that is
tests/integration/test_desktop_client.py; here the sessions join without devices (signaling only)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import av
import pytest
from aiortc.codecs import get_decoder, get_encoder
from aiortc.codecs.vpx import vp8_depayload
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from clients.desktop.api import ApiClient, ApiError
from clients.desktop.media import BARS, TestPatternTrack, audio_source, rgb_image, sections, video_source
from clients.desktop.session import ChatReceived, MeetingSession, MembersChanged, RoomEnded
from clients.desktop.signaling import Signaling, SignalingError
from tests.unit.web_support import PASSWORD, WebApi, web, web_factory  # noqa: F401  (fixtures)


async def until(condition: Callable[[], bool], what: str, timeout: float = 5) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"not within {timeout}s: {what}") from None


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def signed_in(web: WebApi, http: aiohttp.ClientSession, name: str) -> ApiClient:
    await web.register(name)
    api = ApiClient(str(web.client.make_url("")).rstrip("/"), http)
    await api.sign_in(name, PASSWORD)
    return api


def recorder(events: list[Any]) -> Callable[[Any], None]:
    return events.append


async def test_a_user_signs_in_creates_a_meeting_and_finds_it_in_the_list(web: WebApi,
                                                                          http: aiohttp.ClientSession) -> None:
    api = await signed_in(web, http, "ann")
    assert api.account is not None and api.account.username == "ann"
    created = await api.create_meeting("Desk sync")
    listed = await api.meetings()
    assert [m.id for m in listed] == [created.id]
    assert listed[0].title == "Desk sync" and listed[0].your_role == "host" and listed[0].status == "scheduled"
    assert (await api.meeting(created.id)) == listed[0]


async def test_a_wrong_password_is_an_api_error_with_the_servers_code(web: WebApi,
                                                                      http: aiohttp.ClientSession) -> None:
    await web.register("ann")
    api = ApiClient(str(web.client.make_url("")).rstrip("/"), http)
    with pytest.raises(ApiError) as refused:
        await api.sign_in("ann", "not the password at all")
    assert refused.value.status == 401 and refused.value.code == "invalid_credentials"
    assert api.account is None


async def test_two_sessions_see_each_other_chat_both_ways_and_hear_mute_and_leave(
        web: WebApi, http: aiohttp.ClientSession) -> None:
    ann_api, bob_api = await signed_in(web, http, "ann"), await signed_in(web, http, "bob")
    meeting = await ann_api.create_meeting("Desk sync")
    ann_events: list[Any] = []
    bob_events: list[Any] = []
    ann = MeetingSession(ann_api, listener=recorder(ann_events))
    bob = MeetingSession(bob_api, listener=recorder(bob_events))
    await ann.join(meeting.id)
    await bob.join(meeting.id)
    try:
        assert ann.me is not None and ann.me.role == "host" and bob.me is not None
        assert list(bob.members) == [ann.me.user_id]
        await until(lambda: bob.me.user_id in ann.members, "ann sees bob")
        assert ann.members[bob.me.user_id].display_name == "bob"
        assert any(isinstance(e, MembersChanged) for e in ann_events)

        sent = await ann.send_chat("  hello bob ")
        await until(lambda: len(bob.chat) == 1 and len(ann.chat) == 1, "ann's chat reaches both")
        assert bob.chat[0] == ann.chat[0] == sent
        assert sent.text == "hello bob" and sent.display_name == "ann"
        await bob.send_chat("hi ann")
        await until(lambda: len(ann.chat) == 2, "bob's chat reaches ann")
        assert [m.text for m in ann.chat] == [m.text for m in bob.chat] == ["hello bob", "hi ann"]
        assert [e.message.text for e in bob_events if isinstance(e, ChatReceived)] == ["hello bob", "hi ann"]

        # without devices a session says it sends nothing; unmuting is then heard by the others
        await until(lambda: ann.members[bob.me.user_id].audio is False, "bob's media state")
        await bob.set_audio(True)
        await until(lambda: ann.members[bob.me.user_id].audio is True, "bob unmuted")
        await bob.set_audio(False)
        await until(lambda: ann.members[bob.me.user_id].audio is False, "bob muted")

        await bob.leave()
        await until(lambda: bob.me.user_id not in ann.members, "bob left")
        assert bob.ended == "left" and bob.signaling is None
        assert RoomEnded("left") in bob_events
        participants = await ann_api._call("GET", f"/api/v1/meetings/{meeting.id}/participants")
        assert bob.me.user_id not in str(participants)
    finally:
        await ann.close()
        await bob.close()


async def test_the_host_ending_the_meeting_ends_the_session(web: WebApi, http: aiohttp.ClientSession) -> None:
    ann_api, bob_api = await signed_in(web, http, "ann"), await signed_in(web, http, "bob")
    meeting = await ann_api.create_meeting("Short one")
    bob = MeetingSession(bob_api)
    await bob.join(meeting.id)
    try:
        await ann_api._call("POST", f"/api/v1/meetings/{meeting.id}/end")
        await until(lambda: bob.ended is not None, "bob hears the end")
        assert bob.ended == "ended"
    finally:
        await bob.close()


async def test_joining_a_meeting_that_does_not_exist_is_refused_and_closes_the_socket(
        web: WebApi, http: aiohttp.ClientSession) -> None:
    api = await signed_in(web, http, "ann")
    session = MeetingSession(api)
    with pytest.raises(SignalingError) as refused:
        await session.join("00000000-0000-4000-8000-000000000000")
    assert refused.value.code == "meeting_not_found"
    assert session.signaling is not None and session.signaling.ws.closed


def test_the_sfu_offer_is_read_for_each_forwarded_tracks_publisher_and_direction() -> None:
    sdp = ("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
           "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=recvonly\r\n"
           "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\na=msid:aaaa aaaa-video\r\na=sendonly\r\n"
           "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:3\r\na=msid:bbbb bbbb-audio\r\na=inactive\r\n")
    got = [(s.mid, s.kind, s.direction, s.publisher) for s in sections(sdp)]
    assert got == [("0", "audio", "recvonly", None), ("2", "video", "sendonly", "aaaa"),
                   ("3", "audio", "inactive", "bbbb")]


async def test_the_test_pattern_shows_its_colour_bars_after_a_round_trip_through_vp8() -> None:
    track = TestPatternTrack()
    frames = [await track.recv() for _ in range(3)]
    codec = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
    encoder, decoder = get_encoder(codec), get_decoder(codec)
    decoded: list[av.VideoFrame] = []
    for frame in frames:
        payloads, timestamp = encoder.encode(frame, force_keyframe=True)
        data = b"".join(vp8_depayload(p) for p in payloads)
        decoded += decoder.decode(JitterFrame(data=data, timestamp=timestamp))
    width, height, stride, rgb = rgb_image(decoded[-1])
    assert (width, height) == (320, 240)
    y = height // 3
    for index, colour in enumerate(BARS):
        x = (2 * index + 1) * width // (2 * len(BARS))
        pixel = rgb[y * stride + 3 * x: y * stride + 3 * x + 3]
        assert all(abs(a - b) < 40 for a, b in zip(pixel, colour)), (index, tuple(pixel), colour)


async def test_a_long_meeting_renews_the_access_token_and_hands_it_to_the_open_socket(
        web: WebApi, http: aiohttp.ClientSession) -> None:
    api = await signed_in(web, http, "ann")
    api.renew_at = 0.001  # of the 900 s lifetime: about every second, instead of after 12 minutes
    first = api.account
    meeting = await api.create_meeting("Long one")
    session = MeetingSession(api)
    await session.join(meeting.id)
    try:
        await until(lambda: session.reauths >= 2, "two renewals reach the socket")
        assert api.account is not None and first is not None
        assert api.account.access_token != first.access_token and api.account.refresh_token != first.refresh_token
        assert session.signaling is not None and session.signaling.token == api.account.access_token
        sent = await session.send_chat("still here")  # the socket took each new token (no 4401)
        await until(lambda: [m.text for m in session.chat] == ["still here"], "the chat comes back")
        assert (await api.meeting(meeting.id)).id == meeting.id and sent.text == "still here"
    finally:
        await session.close()


async def test_a_socket_the_server_closes_ends_the_session_with_the_close_codes_reason(
        web: WebApi, http: aiohttp.ClientSession) -> None:
    api = await signed_in(web, http, "ann")
    meeting = await api.create_meeting("Cut short")
    events: list[Any] = []
    session = MeetingSession(api, listener=recorder(events))
    await session.join(meeting.id)
    try:
        await api.sign_out()  # revokes the session: the server closes its sockets with 4401
        await until(lambda: session.ended is not None, "the session hears its socket close")
        assert session.ended == "unauthenticated" and events[-1] == RoomEnded("unauthenticated")
    finally:
        await session.close()


async def test_a_device_spec_opens_that_ffmpeg_input_for_camera_and_microphone() -> None:
    # lavfi (ffmpeg's generated inputs) stands in for v4l2:/dev/video0 and alsa:default, which CI has not
    video = video_source("lavfi:testsrc=size=320x240:rate=15")
    audio = audio_source("lavfi:sine=frequency=440")
    try:
        picture, sound = await video.recv(), await audio.recv()
    finally:
        video.stop()
        audio.stop()
    assert (picture.width, picture.height) == (320, 240)
    assert sound.sample_rate == 48000 and sound.samples > 0
    with pytest.raises(ValueError):
        video_source("lavfi:sine=frequency=440")  # an input without video


async def test_an_event_read_between_room_state_and_the_join_resuming_is_not_lost(
        web: WebApi, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch) -> None:
    api = await signed_in(web, http, "ann")
    meeting = await api.create_meeting("Busy room")
    newcomer = {"room_id": meeting.id, "user_id": "bbbbbbbb-0000-4000-8000-000000000002", "display_name": "bob",
                "role": "participant", "media": {"audio": True, "video": True, "screen": False},
                "joined_at": "2030-01-07T09:00:42Z"}
    real = Signaling.request

    async def reader_runs_first(self: Signaling, kind: str, data: dict[str, Any], timeout: float = 15) -> Any:
        reply = await real(self, kind, data, timeout)
        if kind == "join_room":  # the reader got member_joined right after room_state, before join resumed
            self._on_event("member_joined", newcomer)
        return reply

    monkeypatch.setattr(Signaling, "request", reader_runs_first)
    session = MeetingSession(api)
    await session.join(meeting.id)
    try:
        assert list(session.members) == [newcomer["user_id"]]
    finally:
        await session.close()
