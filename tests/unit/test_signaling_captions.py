"""Live captions over real WebSockets, in process: a host turns them on and off, every member is told
and gets every caption the media server's captioner delivers to the sink; nobody outside the room
hears anything; only hosts and co-hosts switch them.  The SFU's tap is replaced by a fake captioner
(its own tests are the media work stream's): these tests are about the room."""

from __future__ import annotations

import datetime as dt
from typing import Any

from domain.captions.model import Caption
from domain.captions.service import CaptionService
from domain.shared.ids import MeetingId, UserId, new_id
from tests.unit.signaling_support import (  # noqa: F401  (fixtures)
    Signaling,
    signaling,
    signaling_factory,
    web_factory,
)
from tests.unit.test_caption_service import FakeCaptioner
from tests.unit.web_support import API


def captions_of(s: Signaling) -> tuple[CaptionService, FakeCaptioner]:
    service = s.web.services.captions
    assert service is not None
    fake = FakeCaptioner()
    service.captioner = fake
    return service, fake


async def started_at(s: Signaling, who: Any, mid: str) -> dt.datetime:
    meeting = await s.web.get_meeting(who, mid)
    return dt.datetime.fromisoformat(meeting["started_at"].replace("Z", "+00:00"))


async def test_a_host_turns_captions_on_and_every_member_gets_every_caption(signaling: Signaling) -> None:
    s = signaling
    service, captioner = captions_of(s)
    ann, bob, eve = await s.web.user("ann"), await s.web.user("bob"), await s.web.user("eve")
    mid = await s.meeting(ann)
    a, state = await s.member(ann, mid)
    assert state["captions"] == {"on": False, "available": True, "reason": None}
    b, _ = await s.member(bob, mid)
    elsewhere = await s.meeting(eve)
    e, _ = await s.member(eve, elsewhere)  # in another room
    lurker = await s.connect(eve)  # a socket in no room

    reply = await s.host_action(ann, f"{mid}/captions/on")
    assert reply["captions_on"] is True
    for c in (a, b):
        assert (await c.next("captions"))["data"] == {"room_id": mid, "on": True, "available": True,
                                                      "by": ann.id, "reason": None}

    t0 = await started_at(s, ann, mid)
    start = t0 + dt.timedelta(seconds=3.25)
    window = new_id()
    for final, text in ((False, "hello every"), (True, "hello everyone")):
        await service.heard(Caption(id=window, meeting_id=MeetingId(mid), speaker_id=UserId(bob.id), text=text,
                                    final=final, start_at=start, end_at=start + dt.timedelta(seconds=1.5)))
    for c in (a, b):
        partial, final_ = await c.next("caption"), await c.next("caption")
        assert partial["data"]["final"] is False and partial["data"]["text"] == "hello every"
        data = final_["data"]
        assert data["caption_id"] == window and data["speaker_id"] == bob.id and data["display_name"] == "bob"
        assert (data["text"], data["final"], data["start_s"], data["end_s"]) == ("hello everyone", True, 3.25, 4.75)
        assert data["start_at"].endswith("Z") and data["room_id"] == mid
    for c in (e, lurker):
        await c.never("caption")
        await c.never("captions")

    # someone joining now learns captions are on; the transcript holds the final caption only
    cid = await s.web.user("cid")
    _, late = await s.member(cid, mid)
    assert late["captions"]["on"] is True
    body = await s.web.ok("GET", f"{API}/meetings/{mid}/transcript", who=bob)
    assert [i["text"] for i in body["items"]] == ["hello everyone"]


async def test_the_captioner_of_the_process_follows_the_room(signaling: Signaling) -> None:
    s = signaling
    _, captioner = captions_of(s)
    ann = await s.web.user("ann")
    mid = await s.meeting(ann)
    a, _ = await s.member(ann, mid)
    await s.host_action(ann, f"{mid}/captions/on")
    await a.next("captions")
    await s.host_action(ann, f"{mid}/captions/off")
    off = await a.next("captions")
    assert off["data"]["on"] is False and off["data"]["by"] == ann.id
    await drained(s)
    assert captioner.calls == [("start", mid), ("stop", mid)]

    # on again, then the meeting ends: the tap stops with the room
    await s.host_action(ann, f"{mid}/captions/on")
    await a.next("captions")
    await s.host_action(ann, f"{mid}/end")
    await a.next("room_closed")
    await drained(s)
    assert captioner.calls[-2:] == [("start", mid), ("stop", mid)] and captioner.rooms == set()


async def test_a_member_joining_a_captioned_room_starts_a_tap_that_is_not_running(signaling: Signaling) -> None:
    """As after a restart, or on a process that did not hear the turn-on."""
    s = signaling
    _, captioner = captions_of(s)
    ann, bob = await s.web.user("ann"), await s.web.user("bob")
    mid = await s.meeting(ann)
    a, _ = await s.member(ann, mid)
    await s.host_action(ann, f"{mid}/captions/on")
    await a.next("captions")
    await drained(s)
    captioner.rooms.clear()  # the process lost its taps
    _, state = await s.member(bob, mid)
    assert state["captions"] == {"on": True, "available": True, "reason": None}
    assert captioner.calls[-1] == ("start", mid) and captioner.rooms == {mid}


async def test_members_are_told_when_captions_are_unavailable_and_when_they_are_back(signaling: Signaling) -> None:
    s = signaling
    service, _ = captions_of(s)
    ann, bob = await s.web.user("ann"), await s.web.user("bob")
    mid = await s.meeting(ann)
    a, _ = await s.member(ann, mid)
    await s.host_action(ann, f"{mid}/captions/on")
    await a.next("captions")
    await service.unavailable(MeetingId(mid), "the AI service cannot be reached (OSError)")
    down = await a.next("captions")
    assert down["data"] == {"room_id": mid, "on": True, "available": False, "by": None,
                            "reason": "speech_to_text_unavailable"}
    _, state = await s.member(bob, mid)
    assert state["captions"] == {"on": True, "available": False, "reason": "speech_to_text_unavailable"}
    await service.resumed(MeetingId(mid))
    assert (await a.next("captions"))["data"]["available"] is True


async def test_only_hosts_and_co_hosts_switch_captions_and_only_in_a_live_meeting(signaling: Signaling) -> None:
    s = signaling
    captions_of(s)
    ann, bob, cid = await s.web.user("ann"), await s.web.user("bob"), await s.web.user("cid")
    mid = await s.meeting(ann)
    early = await s.web.call("POST", f"{API}/meetings/{mid}/captions/on", who=ann)
    assert (early.status, early.code) == (409, "invalid_meeting_action")  # nobody is in it yet
    a, _ = await s.member(ann, mid)
    b, _ = await s.member(bob, mid)
    refused = await s.web.call("POST", f"{API}/meetings/{mid}/captions/on", who=bob)
    assert (refused.status, refused.code) == (403, "not_meeting_host")
    await b.never("captions")
    await s.host_action(ann, f"{mid}/cohosts/{bob.id}")
    assert (await s.host_action(bob, f"{mid}/captions/on"))["captions_on"] is True
    assert (await a.next("captions"))["data"]["by"] == bob.id
    outsider = await s.web.call("POST", f"{API}/meetings/{mid}/captions/off", who=cid)
    assert outsider.status == 403


async def test_a_server_without_captions_refuses_to_turn_them_on(signaling_factory: Any) -> None:
    s = await signaling_factory(APP_CAPTIONS_ENABLED="false")
    assert s.web.services.captions is None
    ann = await s.web.user("ann")
    mid = await s.meeting(ann)
    _, state = await s.member(ann, mid)
    assert state["captions"] is None
    refused = await s.web.call("POST", f"{API}/meetings/{mid}/captions/on", who=ann)
    assert (refused.status, refused.code) == (409, "captions_unavailable")
    gone = await s.web.call("GET", f"{API}/meetings/{mid}/transcript", who=ann)
    assert gone.status == 503


async def drained(s: Signaling) -> None:
    from runners.signaling.context import HUB

    await s.web.app[HUB].drain()


async def test_the_composed_captioner_is_the_sfus_tap_and_follows_the_room(signaling: Signaling) -> None:
    """The real wiring: the all-in-one composes the SFU's caption tap over in-process speech-to-text."""
    from adapters.webrtc.caption_tap import AiortcRoomCaptioner

    s = signaling
    service = s.web.services.captions
    assert service is not None and isinstance(service.captioner, AiortcRoomCaptioner)
    ann = await s.web.user("ann")
    mid = await s.meeting(ann)
    a, _ = await s.member(ann, mid)
    assert await service.captioner.captioning() == []  # off by default: nothing taps the room
    await s.host_action(ann, f"{mid}/captions/on")
    await a.next("captions")
    await drained(s)
    assert await service.captioner.captioning() == [mid]
    await s.host_action(ann, f"{mid}/captions/off")
    await a.next("captions")
    await drained(s)
    assert await service.captioner.captioning() == []


async def test_the_tap_stops_when_nobody_of_the_room_is_left_on_the_process(signaling: Signaling) -> None:
    s = signaling
    _, captioner = captions_of(s)
    ann, bob = await s.web.user("ann"), await s.web.user("bob")
    mid = await s.meeting(ann)
    a, _ = await s.member(ann, mid)
    b, _ = await s.member(bob, mid)
    await s.host_action(ann, f"{mid}/captions/on")
    await a.next("captions")
    await drained(s)
    for c in (a, b):
        assert (await c.request("leave_room", {"room_id": mid}))["type"] == "ack"
    await drained(s)
    assert captioner.rooms == set() and captioner.calls[-1] == ("stop", mid)
    # someone comes: captions are still on, the tap starts again (a newcomer: the leavers' own meeting
    # events, still on their way, would remove a leaver who came straight back)
    cid = await s.web.user("cid")
    _, state = await s.member(cid, mid)
    assert state["captions"]["on"] is True and captioner.rooms == {mid}
