"""Media routing outside the domain: signals to the SFU go to the MediaServer of the process holding
the socket, the SFU's own signals go out on the bus as typed events, and every process removes the
media of the members it holds when a room event ends their membership, whichever process consumed
the meeting event (two hubs on one bus stand for two processes)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from typing import Any

import pytest

from adapters.inprocess.media_signals import SignalBusMediaSignals
from adapters.memory.rooms import InMemoryRoomPresence, InMemorySignalBus
from adapters.webrtc.sfu import AiortcMediaServer
from adapters.system.clock import FrozenClock
from domain.meetings import events as me
from domain.meetings.errors import NotMeetingHost
from domain.rooms.errors import NotInRoom
from domain.rooms import events as ev
from domain.rooms.layers import TileSize
from domain.rooms.media import SFU_PEER_ID, ParticipantMediaStats
from domain.rooms.model import Admission, IceCandidate, SignalKind
from domain.rooms.preferences import MediaPreferences
from domain.rooms.service import RoomService
from domain.shared.actor import Actor
from domain.shared.ids import MeetingId, UserId
from domain.users.model import Role
from domain.users.tokens import Principal
from runners.signaling.connection import Connection, TokenBucket
from runners.signaling.context import HUB, ROOMS
from runners.signaling.hub import Hub
from tests.unit.conftest import START
from tests.unit.signaling_support import Signaling, signaling, signaling_factory, web_factory  # noqa: F401

ROOM = MeetingId("cccccccc-0000-4000-8000-000000000003")
ANN, BOB = Actor(UserId("aaaaaaaa-0000-4000-8000-000000000001")), Actor(UserId("bbbbbbbb-0000-4000-8000-000000000002"))


class RecordingMediaServer:
    """A fake SFU: remembers what it was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def signal(self, room_id: MeetingId, user_id: UserId, kind: str, payload: Mapping[str, Any]) -> None:
        self.calls.append(("signal", user_id, kind, dict(payload)))

    async def remove(self, room_id: MeetingId, user_id: UserId, connection: str | None = None) -> None:
        self.calls.append(("remove", user_id, connection))

    async def close_room(self, room_id: MeetingId) -> None:
        self.calls.append(("close_room", room_id))

    async def stats(self, room_id: MeetingId) -> list[ParticipantMediaStats]:
        return []

    async def close(self) -> None:
        pass


class HostOnlyMeetings:
    async def admit(self, actor: Actor, meeting_id: MeetingId, password: str | None) -> Admission:
        return Admission(role="host" if actor == ANN else "participant", display_name="x", mute_on_join=False)

    async def depart(self, actor: Actor, meeting_id: MeetingId) -> None:
        pass

    async def require_manager(self, actor: Actor, meeting_id: MeetingId) -> None:
        if actor != ANN:
            raise NotMeetingHost("only the host")


class QuietSocket:
    """Just enough of a WebSocketResponse for a Connection whose frames nobody reads."""

    def __init__(self) -> None:
        self.frames: list[str] = []

    async def send_str(self, text: str) -> None:
        self.frames.append(text)

    async def close(self, **_: Any) -> None:
        pass


def a_connection(who: Actor | UserId, connection_id: str, session: str = "s") -> Connection:
    user_id = who.user_id if isinstance(who, Actor) else who
    principal = Principal(user_id=user_id, role=Role.USER, session_id=session, token_id="t",
                          expires_at=START + dt.timedelta(hours=1))
    return Connection(connection_id, QuietSocket(), principal, "token", TokenBucket(100, 100))  # type: ignore[arg-type]


@pytest.fixture
def bus() -> InMemorySignalBus:
    return InMemorySignalBus()


@pytest.fixture
def service(bus: InMemorySignalBus) -> RoomService:
    """The room service of "the other process": it consumes the meeting events."""
    return RoomService(presence=InMemoryRoomPresence(), bus=bus, meetings=HostOnlyMeetings(),
                       clock=FrozenClock(START), media=RecordingMediaServer())


async def holding_hub(bus: InMemorySignalBus, service: RoomService) -> tuple[Hub, RecordingMediaServer, Connection]:
    """A process whose SFU holds Bob's media, and whose socket of Bob has already closed (grace)."""
    sfu = RecordingMediaServer()
    hub = Hub(bus, sfu)
    bob = a_connection(BOB, "c-bob")
    await hub.attach(bob, ROOM)
    await service.join(BOB, ROOM, "c-bob")
    hub.admit(bob, ROOM)
    hub.hold_media(bob, ROOM)
    await hub.unregister(bob)
    return hub, sfu, bob


@pytest.mark.parametrize("ending", ["kick", "end", "reaped"])
async def test_the_process_holding_the_media_removes_it_whichever_process_consumed_the_event(
        bus: InMemorySignalBus, service: RoomService, ending: str) -> None:
    hub, sfu, _ = await holding_hub(bus, service)
    if ending == "kick":
        await service.on_event(me.ParticipantKicked(occurred_at=START, meeting_id=ROOM, user_id=BOB.user_id,
                                                    by=ANN.user_id))
        expected = [("remove", BOB.user_id, None)]  # a kick removes whatever connection Bob has
    elif ending == "end":
        await service.on_event(me.MeetingEnded(occurred_at=START, meeting_id=ROOM, by=ANN.user_id))
        expected = [("close_room", ROOM)]
    else:
        service.clock.advance(service.member_ttl)  # type: ignore[attr-defined]
        assert await service.reap() == 1
        expected = [("remove", BOB.user_id, "c-bob")]
    await hub.media.drain()
    assert sfu.calls == expected
    await asyncio.sleep(0)  # the hub lets go of the room once nothing of it is held
    assert not hub.media.holds(ROOM)


async def test_an_event_about_an_older_connection_leaves_the_newer_connections_media(
        bus: InMemorySignalBus, service: RoomService) -> None:
    sfu = RecordingMediaServer()
    hub = Hub(bus, sfu)
    old, new = a_connection(BOB, "c-old"), a_connection(BOB, "c-new")
    await hub.attach(old, ROOM)
    await service.join(BOB, ROOM, "c-old")
    hub.admit(old, ROOM)
    hub.hold_media(old, ROOM)
    await hub.attach(new, ROOM)
    hub.hold_media(new, ROOM)  # the new connection's offer reached the SFU first...
    await service.join(BOB, ROOM, "c-new")  # ...before the takeover's SessionReplaced came round
    hub.admit(new, ROOM)
    await hub.media.drain()
    assert sfu.calls == []

    await service.leave(BOB, ROOM, "c-new")
    await hub.media.drain()
    assert sfu.calls == [("remove", BOB.user_id, "c-new")]


class StatefulMediaServer(RecordingMediaServer):
    """A fake SFU that keeps whose media it holds; ``hold_offers`` keeps each offer from being applied until
    a removal has reached it (the offer passed the membership check, then was overtaken on its way)."""

    def __init__(self) -> None:
        super().__init__()
        self.members: set[UserId] = set()
        self.hold_offers = False
        self.offer_arrived, self.offer_applied, self.removed = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def signal(self, room_id: MeetingId, user_id: UserId, kind: str, payload: Mapping[str, Any]) -> None:
        if kind == "offer":
            self.offer_arrived.set()
            if self.hold_offers:
                await self.removed.wait()
            self.members.add(user_id)
            self.offer_applied.set()
        await super().signal(room_id, user_id, kind, payload)

    async def remove(self, room_id: MeetingId, user_id: UserId, connection: str | None = None) -> None:
        self.members.discard(user_id)
        self.removed.set()
        await super().remove(room_id, user_id, connection)

    async def close_room(self, room_id: MeetingId) -> None:
        self.members.clear()
        self.removed.set()
        await super().close_room(room_id)


@pytest.mark.parametrize("restart", [True, False])
@pytest.mark.parametrize("order", ["removal_reaches_the_sfu_first", "offer_reaches_the_sfu_first", "at_once"])
@pytest.mark.parametrize("ending", ["kick", "leave", "end"])
async def test_an_offer_racing_the_members_removal_never_leaves_its_media_behind(
        bus: InMemorySignalBus, ending: str, order: str, restart: bool) -> None:
    """A kick, leave or end committed while Bob's (restart) offer is on its way to the SFU: whichever reaches
    the SFU first, Bob's media is gone in the end (docs/signaling.md 13.3, 13.12)."""
    sfu = StatefulMediaServer()
    service = RoomService(presence=InMemoryRoomPresence(), bus=bus, meetings=HostOnlyMeetings(),
                          clock=FrozenClock(START), media=sfu)
    hub = Hub(bus, sfu)  # one process: its socket of Bob, its SFU
    bob = a_connection(BOB, "c-bob")
    await hub.attach(bob, ROOM)
    await service.join(BOB, ROOM, "c-bob")
    hub.admit(bob, ROOM)
    await service.signal_sfu(BOB, ROOM, "c-bob", SignalKind.OFFER, {"sdp": "v=0"})  # Bob's media is there
    hub.hold_media(bob, ROOM)
    sfu.hold_offers = order == "removal_reaches_the_sfu_first"
    barrier = asyncio.Barrier(2)
    outcome: list[str] = []

    async def offer() -> None:
        await barrier.wait()
        try:
            await service.signal_sfu(BOB, ROOM, "c-bob", SignalKind.OFFER, {"sdp": "v=0 again", "restart": restart})
            hub.hold_media(bob, ROOM)  # as the endpoint does once the offer is through
            outcome.append("offer applied")
        except NotInRoom:
            outcome.append("offer refused")

    async def removal() -> None:
        await barrier.wait()
        if order == "offer_reaches_the_sfu_first":
            await sfu.offer_applied.wait()
        elif order == "removal_reaches_the_sfu_first":
            await sfu.offer_arrived.wait()  # past the membership check: the departure comes just after
        if ending == "kick":
            await service.on_event(me.ParticipantKicked(occurred_at=START, meeting_id=ROOM, user_id=BOB.user_id,
                                                        by=ANN.user_id))
        elif ending == "leave":
            await service.leave(BOB, ROOM, "c-bob")
        else:
            await service.on_event(me.MeetingEnded(occurred_at=START, meeting_id=ROOM, by=ANN.user_id))

    sfu.offer_arrived.clear(), sfu.offer_applied.clear(), sfu.removed.clear()
    await asyncio.gather(offer(), removal())
    await hub.media.drain()
    assert BOB.user_id not in sfu.members, (outcome, sfu.calls)
    assert not any(m.user_id == BOB.user_id for m in await service.presence.members(ROOM, START))
    if order == "removal_reaches_the_sfu_first":
        assert outcome == ["offer refused"]


async def test_the_sfus_signals_reach_one_member_and_its_speaker_everyone(bus: InMemorySignalBus) -> None:
    heard: list[ev.RoomEvent] = []

    async def hear(event: ev.RoomEvent) -> None:
        heard.append(event)

    signals = SignalBusMediaSignals(bus)
    async with bus.listen(ROOM, hear):
        await signals.to_member(ROOM, BOB.user_id, "offer", {"sdp": "v=0"})
        await signals.to_member(ROOM, BOB.user_id, "ice_candidate", {"candidate": {"candidate": "", "sdpMid": "0"}})
        await signals.active_speaker(ROOM, ANN.user_id)
    assert heard == [
        ev.SignalSent(room_id=ROOM, kind=SignalKind.OFFER, sender=SFU_PEER_ID, to=BOB.user_id, sdp="v=0"),
        ev.SignalSent(room_id=ROOM, kind=SignalKind.ICE_CANDIDATE, sender=SFU_PEER_ID, to=BOB.user_id,
                      candidate=IceCandidate(candidate="", sdp_mid="0")),
        ev.ActiveSpeakerChanged(room_id=ROOM, user_id=ANN.user_id)]


async def test_only_managers_see_media_stats(service: RoomService) -> None:
    assert await service.media_stats(ANN, ROOM) == []
    with pytest.raises(NotMeetingHost):
        await service.media_stats(BOB, ROOM)


async def sfu_meeting(s: Signaling, sfu: Any = None) -> tuple[Any, Any, Any, Any, Any, Any]:
    """Ann's meeting with Ann and Bob in it, on a process whose media server is ``sfu`` (by default one that
    records what reaches it): (the media server, the meeting id, Ann, Bob, Ann's socket, Bob's socket)."""
    sfu = RecordingMediaServer() if sfu is None else sfu
    s.web.app[ROOMS].media = sfu
    s.web.app[HUB].media.media = sfu
    ann, bob = await s.web.user("ann"), await s.web.user("bob")
    mid = await s.meeting(ann)
    a, _ = await s.member(ann, mid)
    b, _ = await s.member(bob, mid)
    return sfu, mid, ann, bob, a, b


async def test_an_offer_to_the_sfu_goes_to_this_processs_media_server_and_not_to_the_room(
        signaling: Signaling) -> None:
    s = signaling
    sfu, mid, ann, bob, a, b = await sfu_meeting(s)

    assert (await b.request("offer", {"room_id": mid, "to": SFU_PEER_ID, "sdp": "v=0"}))["type"] == "ack"
    # the offer names the connection that made it; so does the removal (a node shared by other processes
    # leaves a newer connection of the member alone)
    assert sfu.calls == [("signal", bob.id, "offer", {"sdp": "v=0", "connection": b.connection_id})]
    await a.never("offer")
    assert (await b.request("leave_room", {"room_id": mid}))["type"] == "ack"
    await s.web.app[HUB].media.drain()
    assert sfu.calls[-1] == ("remove", bob.id, b.connection_id)


async def test_a_restart_offer_reaches_the_media_server_marked_and_the_room_hears_nothing(
        signaling: Signaling) -> None:
    """docs/signaling.md 13.12: an offer with restart goes to the SFU with the marker; no membership event."""
    s = signaling
    sfu, mid, ann, bob, a, b = await sfu_meeting(s)
    await a.next(lambda m: m["type"] == "member_joined")  # bob's arrival, before any offer
    await b.request("offer", {"room_id": mid, "to": SFU_PEER_ID, "sdp": "v=0"})
    reply = await b.request("offer", {"room_id": mid, "to": SFU_PEER_ID, "sdp": "v=0 again", "restart": True})
    assert reply["type"] == "ack"
    assert sfu.calls[-1] == ("signal", bob.id, "offer",
                             {"sdp": "v=0 again", "restart": True, "connection": b.connection_id})
    for kind in ("member_left", "member_joined", "offer"):
        await a.never(kind)
    bad = await b.request("offer", {"room_id": mid, "to": SFU_PEER_ID, "sdp": "v=0", "restart": "yes"})
    assert bad["type"] == "error", bad


class QuietSignals:
    async def to_member(self, *args: Any) -> None: ...
    async def active_speaker(self, *args: Any) -> None: ...
    async def media_reset(self, *args: Any) -> None: ...


async def test_tile_sizes_sent_alone_keep_the_members_last_n_and_pins(signaling: Signaling) -> None:
    """docs/signaling.md 13.9: the web client's media_preferences {video_sizes}, sent on every tile resize,
    must not reset what the member chose before (the aiortc SFU itself: preferences need no connection)."""
    sfu = AiortcMediaServer(QuietSignals())
    try:
        _, mid, ann, bob, _, b = await sfu_meeting(signaling, sfu)
        key = (MeetingId(mid), UserId(bob.id))
        assert (await b.request("media_preferences", {"room_id": mid, "last_n": 2, "pinned": [ann.id]}))["type"] == "ack"
        sizes = {ann.id: {"width": 640, "height": 360}}
        assert (await b.request("media_preferences", {"room_id": mid, "video_sizes": sizes}))["type"] == "ack"
        assert sfu.preferences[key] == MediaPreferences(last_n=2, pinned=frozenset({ann.id}),
                                                        video_sizes={ann.id: TileSize(640, 360)})
        assert (await b.request("media_preferences", {"room_id": mid, "video_sizes": {}}))["type"] == "ack"
        assert sfu.preferences[key] == MediaPreferences(last_n=2, pinned=frozenset({ann.id}))
        assert (await b.request("media_preferences", {"room_id": mid, "last_n": None}))["type"] == "ack"
        assert sfu.preferences[key] == MediaPreferences(pinned=frozenset({ann.id}))
        bad = await b.request("media_preferences", {"room_id": mid, "pinned": None})
        assert bad["type"] == "error" and bad["data"]["code"] == "invalid_message"
        assert sfu.preferences[key] == MediaPreferences(pinned=frozenset({ann.id}))
    finally:
        await sfu.close()


async def test_media_preferences_go_to_this_processs_media_server_from_members_only(signaling: Signaling) -> None:
    s = signaling
    sfu, mid, ann, bob, _, b = await sfu_meeting(s)

    reply = await b.request("media_preferences", {"room_id": mid, "last_n": 4, "pinned": [ann.id]})
    assert reply["type"] == "ack"
    assert sfu.calls == [("signal", bob.id, "media_preferences", {"last_n": 4, "pinned": [ann.id]})]
    sizes = {ann.id: {"width": 640, "height": 360}, f"{ann.id}:screen": {"width": 1280, "height": 720}}
    reply = await b.request("media_preferences", {"room_id": mid, "video_sizes": sizes})
    assert reply["type"] == "ack"
    # only what the member sent: the SFU keeps the rest (docs/signaling.md 13.9)
    assert sfu.calls[-1] == ("signal", bob.id, "media_preferences", {"video_sizes": sizes})
    reply = await b.request("media_preferences", {"room_id": mid, "last_n": None, "pinned": [], "video_sizes": {}})
    assert reply["type"] == "ack"
    assert sfu.calls[-1] == ("signal", bob.id, "media_preferences", {"last_n": None, "pinned": [], "video_sizes": {}})
    del sfu.calls[-1]
    del sfu.calls[-1]
    await b.request("leave_room", {"room_id": mid})
    reply = await b.request("media_preferences", {"room_id": mid, "last_n": 2})
    assert reply["type"] == "error" and reply["data"]["code"] == "not_in_room"
    assert len([c for c in sfu.calls if c[0] == "signal"]) == 1
