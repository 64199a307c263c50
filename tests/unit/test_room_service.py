"""The room service on a fake clock, over the memory adapters that pass the contracts: joins and
takeovers, the reconnect grace, heartbeats and reaping, the room side of typed meeting events and the
sockets' side of revoked sessions.  What the service says is read as the typed events on the bus."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from adapters.memory.events import InMemoryEventBus
from adapters.memory.rooms import InMemoryRoomPresence, InMemorySignalBus
from adapters.redis.events import PublishedEvent
from adapters.system.clock import FrozenClock
from domain.meetings import events as me
from domain.rooms import events as ev
from domain.rooms.errors import InvalidSignal, NotInRoom, PeerNotInRoom
from domain.rooms.model import Admission, CloseReason, LeaveReason, MediaState, SignalKind
from domain.rooms.service import RoomService
from domain.shared.actor import Actor
from domain.shared.events import DomainEvent
from domain.shared.ids import MeetingId, UserId
from domain.users import events as ue
from runners.signaling.feeds import in_memory_feed, stream_feed
from tests.unit.conftest import START

ROOM = MeetingId("cccccccc-0000-4000-8000-000000000003")
ANN, BOB = Actor(UserId("aaaaaaaa-0000-4000-8000-000000000001")), Actor(UserId("bbbbbbbb-0000-4000-8000-000000000002"))
TTL, GRACE = dt.timedelta(seconds=15), dt.timedelta(seconds=10)
US = dt.timedelta(microseconds=1)


class Meetings:
    """MeetingAccess that admits everyone (Ann hosts) and remembers who departed."""

    def __init__(self) -> None:
        self.departed: list[UserId] = []

    async def admit(self, actor: Actor, meeting_id: MeetingId, password: str | None) -> Admission:
        return Admission(role="host" if actor == ANN else "participant", display_name=actor.user_id[:3],
                         mute_on_join=actor == BOB, roles={ANN.user_id: "host"})

    async def depart(self, actor: Actor, meeting_id: MeetingId) -> None:
        self.departed.append(actor.user_id)

    async def require_manager(self, actor: Actor, meeting_id: MeetingId) -> None:
        pass


class Room:
    def __init__(self) -> None:
        self.clock = FrozenClock(START)
        self.bus = InMemorySignalBus()
        self.meetings = Meetings()
        self.service = RoomService(presence=InMemoryRoomPresence(), bus=self.bus, meetings=self.meetings,
                                   clock=self.clock, member_ttl=TTL, grace=GRACE)
        self.heard: list[Any] = []

    async def hear(self, event: Any) -> None:
        self.heard.append(event)

    def said(self) -> list[Any]:
        out, self.heard = self.heard, []
        return out


@pytest.fixture
async def room() -> Any:
    r = Room()
    async with r.bus.listen(ROOM, r.hear), r.bus.listen_revocations(r.hear):
        yield r


async def test_a_first_join_is_announced_with_the_member_as_it_entered(room: Room) -> None:
    ann, others = await room.service.join(ANN, ROOM, "c-ann")
    assert others == [] and ann.joined_at == START and ann.role == "host"
    room.clock.advance(dt.timedelta(seconds=1))
    bob, others = await room.service.join(BOB, ROOM, "c-bob")
    assert others == [ann]
    assert bob.media == MediaState(audio=False) and bob.joined_at == START + dt.timedelta(seconds=1)
    assert room.said() == [ev.MemberJoined(room_id=ROOM, member=ann), ev.MemberJoined(room_id=ROOM, member=bob)]


async def test_a_new_connection_takes_over_keeping_place_and_media_and_the_old_one_is_told(room: Room) -> None:
    await room.service.join(BOB, ROOM, "c-old")
    await room.service.set_media(BOB, ROOM, "c-old", MediaState(audio=True, video=False))
    room.said()
    room.clock.advance(dt.timedelta(seconds=3))

    again, _ = await room.service.join(BOB, ROOM, "c-new")
    assert again.connection_id == "c-new" and again.joined_at == START
    assert again.media == MediaState(audio=True, video=False)
    assert room.said() == [ev.SessionReplaced(room_id=ROOM, user_id=BOB.user_id, connection_id="c-old"),
                           ev.MemberResumed(room_id=ROOM, user_id=BOB.user_id)]
    assert await room.service.heartbeat(BOB.user_id, ROOM, "c-old") is False
    assert await room.service.heartbeat(BOB.user_id, ROOM, "c-new") is True
    with pytest.raises(NotInRoom):
        await room.service.chat(BOB, ROOM, "c-old", "from the old tab")


async def test_joining_again_on_the_same_connection_says_nothing(room: Room) -> None:
    await room.service.join(BOB, ROOM, "c-bob")
    room.said()
    await room.service.join(BOB, ROOM, "c-bob")
    assert room.said() == []


async def test_a_closed_socket_is_kept_for_the_grace_period_then_reaped_and_departs(room: Room) -> None:
    await room.service.join(ANN, ROOM, "c-ann")
    await room.service.join(BOB, ROOM, "c-bob")
    room.said()
    await room.service.disconnected(BOB.user_id, ROOM, "c-bob")

    room.clock.advance(GRACE - US)
    assert await room.service.reap() == 0
    assert room.said() == [] and room.meetings.departed == []
    room.clock.advance(US)
    assert await room.service.reap() == 1
    assert room.said() == [ev.MemberLeft(room_id=ROOM, user_id=BOB.user_id, connection_id="c-bob",
                                         reason=LeaveReason.DISCONNECTED)]
    assert room.meetings.departed == [BOB.user_id]
    assert await room.service.reap() == 0  # once


async def test_a_reconnect_within_the_grace_period_resumes_and_is_never_reaped(room: Room) -> None:
    await room.service.join(BOB, ROOM, "c-bob")
    await room.service.disconnected(BOB.user_id, ROOM, "c-bob")
    room.clock.advance(GRACE - dt.timedelta(seconds=1))
    await room.service.join(BOB, ROOM, "c-back")
    room.said()

    room.clock.advance(dt.timedelta(seconds=2))  # past the old grace deadline
    assert await room.service.reap() == 0
    room.clock.advance(TTL)  # the new connection renews, or it goes too
    assert await room.service.reap() == 1
    assert [type(e) for e in room.said()] == [ev.MemberLeft]


async def test_heartbeats_keep_a_member_and_without_them_it_is_reaped_at_its_ttl(room: Room) -> None:
    await room.service.join(ANN, ROOM, "c-ann")
    await room.service.join(BOB, ROOM, "c-bob")
    room.said()
    reaped_at = []
    for _ in range(10):
        room.clock.advance(TTL / 3)
        assert await room.service.heartbeat(ANN.user_id, ROOM, "c-ann")
        if await room.service.reap():
            reaped_at.append(room.clock.now())
    assert reaped_at == [START + TTL]  # Bob, who never renewed, exactly at his deadline; Ann never
    assert room.said() == [ev.MemberLeft(room_id=ROOM, user_id=BOB.user_id, connection_id="c-bob",
                                         reason=LeaveReason.DISCONNECTED)]
    assert [m.user_id for m in await room.service.presence.members(ROOM, room.clock.now())] == [ANN.user_id]
    assert await room.service.heartbeat(BOB.user_id, ROOM, "c-bob") is False


async def test_leaving_departs_the_meeting_and_tells_the_room_once(room: Room) -> None:
    await room.service.join(BOB, ROOM, "c-bob")
    room.said()
    await room.service.leave(BOB, ROOM, "c-bob")
    assert room.said() == [ev.MemberLeft(room_id=ROOM, user_id=BOB.user_id, connection_id="c-bob",
                                         reason=LeaveReason.LEFT)]
    assert room.meetings.departed == [BOB.user_id]
    with pytest.raises(NotInRoom):
        await room.service.leave(BOB, ROOM, "c-bob")


async def test_chat_signals_and_media_are_typed_events_stamped_by_the_clock(room: Room) -> None:
    await room.service.join(ANN, ROOM, "c-ann")
    await room.service.join(BOB, ROOM, "c-bob")
    room.said()
    room.clock.advance(dt.timedelta(seconds=5))

    posted = await room.service.chat(ANN, ROOM, "c-ann", "  hello  ")
    assert posted.text == "hello" and posted.sent_at == room.clock.now() and posted.display_name == ANN.user_id[:3]
    await room.service.relay(BOB, ROOM, "c-bob", SignalKind.ANSWER, ANN.user_id, sdp="v=0")
    await room.service.set_media(BOB, ROOM, "c-bob", MediaState(screen=True))
    assert room.said() == [
        posted, ev.SignalSent(room_id=ROOM, kind=SignalKind.ANSWER, sender=BOB.user_id, to=ANN.user_id, sdp="v=0"),
        ev.MediaChanged(room_id=ROOM, user_id=BOB.user_id, media=MediaState(screen=True))]
    with pytest.raises(InvalidSignal):
        await room.service.chat(ANN, ROOM, "c-ann", "   ")
    with pytest.raises(PeerNotInRoom):
        await room.service.relay(BOB, ROOM, "c-bob", SignalKind.OFFER, BOB.user_id, sdp="v=0")
    with pytest.raises(InvalidSignal):
        await room.service.relay(BOB, ROOM, "c-bob", SignalKind.OFFER, ANN.user_id)
    assert room.said() == []


def at(cls: type[me.MeetingEvent], **fields: Any) -> me.MeetingEvent:
    return cls(occurred_at=START, meeting_id=ROOM, **fields)


async def test_a_kick_tells_the_user_then_the_room_and_a_repeated_kick_only_the_user(room: Room) -> None:
    await room.service.join(ANN, ROOM, "c-ann")
    await room.service.join(BOB, ROOM, "c-bob")
    room.said()
    kick = at(me.ParticipantKicked, user_id=BOB.user_id, by=ANN.user_id)
    await room.service.on_event(kick)
    assert room.said() == [ev.MemberKicked(room_id=ROOM, user_id=BOB.user_id, by=ANN.user_id),
                           ev.MemberLeft(room_id=ROOM, user_id=BOB.user_id, connection_id="c-bob",
                                         reason=LeaveReason.KICKED)]
    await room.service.on_event(kick)  # events come at least once
    assert room.said() == [ev.MemberKicked(room_id=ROOM, user_id=BOB.user_id, by=ANN.user_id)]


async def test_leaving_over_http_removes_the_socket_and_tells_the_room(room: Room) -> None:
    await room.service.join(BOB, ROOM, "c-bob")
    room.said()
    await room.service.on_event(at(me.ParticipantLeft, user_id=BOB.user_id))
    assert room.said() == [ev.MemberRemoved(room_id=ROOM, user_id=BOB.user_id),
                           ev.MemberLeft(room_id=ROOM, user_id=BOB.user_id, connection_id="c-bob",
                                         reason=LeaveReason.LEFT)]
    await room.service.on_event(at(me.ParticipantLeft, user_id=BOB.user_id))
    assert room.said() == []


@pytest.mark.parametrize(("cls", "reason"), [(me.MeetingEnded, CloseReason.ENDED),
                                             (me.MeetingCancelled, CloseReason.CANCELLED),
                                             (me.MeetingDeleted, CloseReason.DELETED)])
async def test_the_end_of_a_meeting_closes_the_room_and_empties_it(room: Room, cls: Any, reason: CloseReason) -> None:
    await room.service.join(ANN, ROOM, "c-ann")
    room.said()
    await room.service.on_event(at(cls, by=ANN.user_id))
    assert room.said() == [ev.RoomClosed(room_id=ROOM, reason=reason)]
    assert await room.service.presence.members(ROOM, room.clock.now()) == []
    room.clock.advance(TTL)
    assert await room.service.reap() == 0  # nobody is reaped or announced later


async def test_locks_roles_and_captions_reach_the_room(room: Room) -> None:
    await room.service.on_event(at(me.MeetingLocked, by=ANN.user_id))
    await room.service.on_event(at(me.MeetingUnlocked, by=ANN.user_id))
    await room.service.on_event(at(me.CoHostPromoted, user_id=BOB.user_id, by=ANN.user_id))
    await room.service.on_event(at(me.CoHostDemoted, user_id=BOB.user_id, by=ANN.user_id))
    await room.service.on_event(at(me.HostTransferred, from_user_id=ANN.user_id, to_user_id=BOB.user_id))
    await room.service.on_event(at(me.CaptionsTurnedOn, by=BOB.user_id))
    await room.service.on_event(at(me.CaptionsTurnedOff, by=ANN.user_id))
    await room.service.on_event(at(me.MeetingUpdated, fields=("title",)))  # nothing the room shows
    assert room.said() == [
        ev.LockChanged(room_id=ROOM, locked=True), ev.LockChanged(room_id=ROOM, locked=False),
        ev.RoleChanged(room_id=ROOM, user_id=BOB.user_id, role="co_host"),
        ev.RoleChanged(room_id=ROOM, user_id=BOB.user_id, role="participant"),
        ev.RoleChanged(room_id=ROOM, user_id=ANN.user_id, role="co_host"),
        ev.RoleChanged(room_id=ROOM, user_id=BOB.user_id, role="host"),
        ev.CaptionsChanged(room_id=ROOM, on=True, by=BOB.user_id),
        ev.CaptionsChanged(room_id=ROOM, on=False, by=ANN.user_id)]


async def test_revoking_user_events_become_access_revoked_notices(room: Room) -> None:
    user = BOB.user_id
    for event in (ue.SessionsRevoked(occurred_at=START, user_id=user, reason="banned", security_version=3),
                  ue.SessionsRevoked(occurred_at=START, user_id=user, reason="logout", session_id="s-1"),
                  ue.UserUpdated(occurred_at=START, user_id=user, fields=("display_name",)),
                  ue.UserLoggedIn(occurred_at=START, user_id=user, session_id="s-2")):
        await room.service.on_event(event)
    assert room.said() == [ev.AccessRevoked(user_id=user), ev.AccessRevoked(user_id=user, session_id="s-1")]


# -- the feeds hand the service typed events -------------------------------------------------------

class StreamOf:
    """A stand-in for RedisStreamSubscriber.run: hands over the typed events it decoded from the
    wire (an undecodable record never reaches a handler: the subscriber dead-letters it), then stops."""

    def __init__(self, *records: PublishedEvent) -> None:
        self.records = [r.to_domain() for r in records]

    async def run(self, handler: Any, stop: asyncio.Event) -> None:
        for record in self.records:
            await handler(record)


async def test_both_feeds_hand_over_typed_events_equal_to_the_published_ones() -> None:
    kick = at(me.ParticipantKicked, user_id=BOB.user_id, by=ANN.user_id)
    renamed = at(me.MeetingUpdated, fields=("title", "capacity"))
    ban = ue.UserBanned(occurred_at=START, user_id=BOB.user_id, by=ANN.user_id)
    registered = ue.UserRegistered(occurred_at=START, user_id=BOB.user_id, username="bob", email="b@example.com")
    got: list[DomainEvent] = []

    async def handler(event: DomainEvent) -> None:
        got.append(event)

    stream = StreamOf(*(PublishedEvent.from_domain(e) for e in (kick, renamed, registered, ban)))
    await stream_feed(stream)(handler, asyncio.Event())  # type: ignore[arg-type]
    assert got == [kick, renamed, registered, ban]

    got.clear()
    bus, stop = InMemoryEventBus(), asyncio.Event()
    running = asyncio.create_task(in_memory_feed(bus)(handler, stop))
    await asyncio.sleep(0)
    await bus.publish(kick, ue.UserLoggedIn(occurred_at=START, user_id=BOB.user_id, session_id="s"), ban)
    stop.set()
    await running
    assert got[0] == kick and got[-1] == ban and all(isinstance(e, DomainEvent) for e in got)


async def test_a_user_back_between_the_expiry_and_the_announcement_stays_in_the_meeting(room: Room) -> None:
    await room.service.join(BOB, ROOM, "c-old")
    await room.service.disconnected(BOB.user_id, ROOM, "c-old")
    room.said()
    presence, real_reap = room.service.presence, room.service.presence.reap

    async def reap_while_bob_comes_back(now: dt.datetime, limit: int = 100) -> Any:
        reaped = await real_reap(now, limit)
        await room.service.join(BOB, ROOM, "c-new")  # lands between the expiry and its announcement
        return reaped

    presence.reap = reap_while_bob_comes_back  # type: ignore[method-assign]
    room.clock.advance(GRACE)
    assert await room.service.reap() == 1
    assert room.meetings.departed == []
    said = room.said()
    assert [type(e) for e in said] == [ev.MemberJoined, ev.SessionReplaced]
    assert said[1] == ev.SessionReplaced(room_id=ROOM, user_id=BOB.user_id, connection_id="c-old")
    assert [m.connection_id for m in await presence.members(ROOM, room.clock.now())] == ["c-new"]
