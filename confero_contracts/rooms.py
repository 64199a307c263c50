"""RoomPresence and SignalBus contracts: every adapter must behave like this (see ports/rooms.py).

Presence is judged against the caller's ``now`` only, so the suite uses a fixed instant (with
microseconds: the storage must keep them).  Bus delivery may be asynchronous: positive checks wait
with ``eventually``; negative checks ("nothing else arrived") publish a marker afterwards to a room
that a witness listens to, and judge once the marker is in, since delivery is ordered per publisher.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from attrs import evolve

from domain.rooms import events as ev
from domain.rooms.model import CloseReason, IceCandidate, LeaveReason, MediaState, Member, SignalKind
from domain.shared.ids import MeetingId, UserId, new_id
from ports.rooms import RoomPresence, SignalBus
from confero_contracts.factories import T0

US = dt.timedelta(microseconds=1)
TTL = dt.timedelta(seconds=15)
_names = itertools.count(1)


def a_room() -> MeetingId:
    return MeetingId(new_id())


def a_member(user_id: str | None = None, *, joined_at: dt.datetime = T0, **overrides: Any) -> Member:
    fields: dict[str, Any] = dict(
        user_id=UserId(user_id or new_id()), connection_id=new_id(), display_name=f"Member {next(_names)}",
        role="participant", media=MediaState(), joined_at=joined_at)
    fields.update(overrides)
    return Member(**fields)


def a_busy_member() -> Member:
    """Every field away from its default, so a round trip exercises the whole codec."""
    return a_member(display_name='Zoë "the host" | Ωmega / \\ 🎥', role="co_host",
                    media=MediaState(audio=False, video=False, screen=True),
                    joined_at=dt.datetime(2030, 5, 17, 9, 30, 15, 654321, tzinfo=dt.timezone.utc))


def by_user(members: list[Member]) -> list[Member]:
    return sorted(members, key=lambda m: m.user_id)


def n_us(member: Member) -> dt.timedelta:
    # Spread deadlines a little so the reapers see several distinct scores.
    return int(member.user_id[:2], 16) * US


class RoomPresenceContract:
    @pytest.fixture
    async def presence(self) -> RoomPresence:
        raise NotImplementedError

    @pytest.fixture
    def now(self) -> dt.datetime:
        return T0

    # -- enter / members -----------------------------------------------------------------------

    async def test_entering_an_empty_room_replaces_nobody_and_the_member_comes_back_equal(self, presence, now):
        room, member = a_room(), a_busy_member()
        assert await presence.enter(room, member, now + TTL) is None
        [got] = await presence.members(room, now)
        assert got == member
        assert got.joined_at.utcoffset() == dt.timedelta(0)
        assert got.joined_at.microsecond == 654321

    async def test_entering_again_replaces_the_earlier_connection_and_returns_it(self, presence, now):
        room, first = a_room(), a_busy_member()
        second = evolve(first, connection_id=new_id(), media=MediaState())
        await presence.enter(room, first, now + TTL)
        assert await presence.enter(room, second, now + TTL) == first
        assert await presence.members(room, now) == [second]

    async def test_entering_again_with_the_same_connection_returns_the_earlier_member(self, presence, now):
        room, member = a_room(), a_member()
        await presence.enter(room, member, now + TTL)
        later = evolve(member, display_name="Renamed")
        assert await presence.enter(room, later, now + TTL) == member
        assert await presence.members(room, now) == [later]

    async def test_an_unknown_room_has_no_members(self, presence, now):
        assert await presence.members(a_room(), now) == []

    async def test_members_of_other_rooms_are_not_listed(self, presence, now):
        room, other = a_room(), a_room()
        mine, theirs = a_member(), a_member()
        await presence.enter(room, mine, now + TTL)
        await presence.enter(other, theirs, now + TTL)
        assert await presence.members(room, now) == [mine]
        assert await presence.members(other, now) == [theirs]

    async def test_one_user_may_be_in_two_rooms(self, presence, now):
        room, other = a_room(), a_room()
        member = a_member()
        await presence.enter(room, member, now + TTL)
        assert await presence.enter(other, member, now + TTL) is None
        await presence.remove(room, member.user_id)
        assert await presence.members(other, now) == [member]

    async def test_members_are_ordered_by_joined_at_then_user_id(self, presence, now):
        room = a_room()
        late = a_member("user-a", joined_at=T0 + US)
        b_early, a_early = a_member("user-c", joined_at=T0), a_member("user-b", joined_at=T0)
        earliest = a_member("user-z", joined_at=T0 - dt.timedelta(days=1))
        for m in (late, b_early, a_early, earliest):
            await presence.enter(room, m, now + TTL)
        assert await presence.members(room, now) == [earliest, a_early, b_early, late]

    async def test_a_member_is_listed_until_the_instant_of_its_deadline(self, presence, now):
        room, member = a_room(), a_member()
        deadline = now + TTL
        await presence.enter(room, member, deadline)
        assert await presence.members(room, deadline - US) == [member]
        assert await presence.members(room, deadline) == []
        assert await presence.members(room, deadline + TTL) == []

    async def test_expired_members_are_left_out_but_live_ones_stay(self, presence, now):
        room, short, long = a_room(), a_member(), a_member()
        await presence.enter(room, short, now + US)
        await presence.enter(room, long, now + TTL)
        assert await presence.members(room, now + US) == [long]

    # -- renew ---------------------------------------------------------------------------------

    async def test_renew_of_the_current_connection_moves_the_deadline(self, presence, now):
        room, member = a_room(), a_member()
        await presence.enter(room, member, now + TTL)
        assert await presence.renew(room, member.user_id, member.connection_id, now + 2 * TTL) is True
        assert await presence.members(room, now + TTL) == [member]
        assert await presence.reap(now + TTL) == []
        assert await presence.members(room, now + 2 * TTL) == []

    async def test_renew_may_shorten_the_deadline(self, presence, now):
        room, member = a_room(), a_member()
        await presence.enter(room, member, now + TTL)
        assert await presence.renew(room, member.user_id, member.connection_id, now + US)
        assert await presence.members(room, now + US) == []

    async def test_renew_of_a_replaced_connection_fails_and_changes_nothing(self, presence, now):
        room, old = a_room(), a_member()
        new = evolve(old, connection_id=new_id())
        await presence.enter(room, old, now + TTL)
        await presence.enter(room, new, now + TTL)
        assert await presence.renew(room, old.user_id, old.connection_id, now + 5 * TTL) is False
        assert await presence.members(room, now + TTL) == []
        assert await presence.reap(now + TTL) == [(room, new)]

    async def test_renew_of_someone_not_in_the_room_fails(self, presence, now):
        room, member = a_room(), a_member()
        assert await presence.renew(room, member.user_id, member.connection_id, now + TTL) is False
        await presence.enter(a_room(), member, now + TTL)
        assert await presence.renew(room, member.user_id, member.connection_id, now + TTL) is False
        assert await presence.members(room, now) == []

    async def test_renew_after_removal_fails(self, presence, now):
        room, member = a_room(), a_member()
        await presence.enter(room, member, now + TTL)
        await presence.remove(room, member.user_id)
        assert await presence.renew(room, member.user_id, member.connection_id, now + TTL) is False
        assert await presence.members(room, now) == []

    async def test_renew_after_reaping_fails(self, presence, now):
        room, member = a_room(), a_member()
        await presence.enter(room, member, now + TTL)
        await presence.reap(now + TTL)
        assert await presence.renew(room, member.user_id, member.connection_id, now + 3 * TTL) is False
        assert await presence.members(room, now) == []

    # -- set_media -----------------------------------------------------------------------------

    async def test_set_media_updates_the_current_connection_and_returns_the_member(self, presence, now):
        room, member = a_room(), a_busy_member()
        await presence.enter(room, member, now + TTL)
        media = MediaState(audio=True, video=False, screen=False, hand=True)
        updated = await presence.set_media(room, member.user_id, member.connection_id, media)
        assert updated == evolve(member, media=media)
        assert await presence.members(room, now) == [updated]

    async def test_set_media_keeps_the_deadline(self, presence, now):
        room, member = a_room(), a_member()
        await presence.enter(room, member, now + TTL)
        updated = await presence.set_media(room, member.user_id, member.connection_id, MediaState(video=False))
        assert await presence.members(room, now + TTL) == []
        assert await presence.reap(now + TTL) == [(room, updated)]

    async def test_set_media_of_a_replaced_connection_is_none_and_changes_nothing(self, presence, now):
        room, old = a_room(), a_member()
        new = evolve(old, connection_id=new_id())
        await presence.enter(room, old, now + TTL)
        await presence.enter(room, new, now + TTL)
        assert await presence.set_media(room, old.user_id, old.connection_id, MediaState(audio=False)) is None
        assert await presence.members(room, now) == [new]

    async def test_set_media_of_someone_not_in_the_room_is_none(self, presence, now):
        room, member = a_room(), a_member()
        assert await presence.set_media(room, member.user_id, member.connection_id, MediaState()) is None
        assert await presence.members(room, now) == []

    # -- remove --------------------------------------------------------------------------------

    async def test_remove_without_a_connection_id_returns_the_member_once(self, presence, now):
        room, member, other = a_room(), a_busy_member(), a_member()
        await presence.enter(room, member, now + TTL)
        await presence.enter(room, other, now + TTL)
        assert await presence.remove(room, member.user_id) == member
        assert await presence.remove(room, member.user_id) is None
        assert await presence.members(room, now) == [other]

    async def test_remove_with_the_current_connection_id_returns_the_member(self, presence, now):
        room, member = a_room(), a_member()
        await presence.enter(room, member, now + TTL)
        assert await presence.remove(room, member.user_id, member.connection_id) == member
        assert await presence.members(room, now) == []

    async def test_remove_with_a_replaced_connection_id_is_none_and_keeps_the_member(self, presence, now):
        room, old = a_room(), a_member()
        new = evolve(old, connection_id=new_id())
        await presence.enter(room, old, now + TTL)
        await presence.enter(room, new, now + TTL)
        assert await presence.remove(room, old.user_id, old.connection_id) is None
        assert await presence.members(room, now) == [new]

    async def test_remove_of_someone_not_in_the_room_is_none(self, presence, now):
        room, member = a_room(), a_member()
        assert await presence.remove(room, member.user_id) is None
        await presence.enter(a_room(), member, now + TTL)
        assert await presence.remove(room, member.user_id, member.connection_id) is None

    async def test_a_removed_member_is_never_reaped(self, presence, now):
        room, member = a_room(), a_member()
        await presence.enter(room, member, now + TTL)
        await presence.remove(room, member.user_id)
        assert await presence.reap(now + 10 * TTL) == []

    async def test_exactly_one_of_two_racing_removals_gets_the_member(self, presence, now):
        room, member = a_room(), a_member()
        await presence.enter(room, member, now + TTL)
        results = await asyncio.gather(presence.remove(room, member.user_id, member.connection_id),
                                       presence.remove(room, member.user_id))
        assert sorted(results, key=lambda r: r is None) == [member, None]

    async def test_exactly_one_of_many_racing_removals_gets_the_member(self, presence, now):
        # Several rounds: in the first, a pooled client is still opening connections, which
        # serialises the calls by accident; later rounds really race.
        for _ in range(5):
            room, members = a_room(), [a_member() for _ in range(10)]
            for m in members:
                await presence.enter(room, m, now + TTL)
            results = await asyncio.gather(*(presence.remove(room, m.user_id, m.connection_id if n % 2 else None)
                                             for m in members for n in range(4)))
            assert by_user([r for r in results if r is not None]) == by_user(members)

    # -- reap ----------------------------------------------------------------------------------

    async def test_reap_returns_expired_members_with_their_room_and_leaves_live_ones(self, presence, now):
        room, other = a_room(), a_room()
        expired_here, expired_there, live = a_member(), a_member(), a_member()
        await presence.enter(room, expired_here, now + TTL)
        await presence.enter(other, expired_there, now + TTL - US)
        await presence.enter(room, live, now + TTL + US)
        reaped = await presence.reap(now + TTL)
        assert sorted(reaped, key=lambda r: r[1].user_id) == sorted(
            [(room, expired_here), (other, expired_there)], key=lambda r: r[1].user_id)
        assert await presence.members(room, now) == [live]
        assert await presence.members(other, now) == []

    async def test_reap_takes_members_whose_deadline_is_exactly_now(self, presence, now):
        room, member = a_room(), a_busy_member()
        await presence.enter(room, member, now + TTL)
        assert await presence.reap(now + TTL - US) == []
        assert await presence.reap(now + TTL) == [(room, member)]

    async def test_each_expired_member_is_reaped_once(self, presence, now):
        room, member = a_room(), a_member()
        await presence.enter(room, member, now + TTL)
        assert await presence.reap(now + TTL) == [(room, member)]
        assert await presence.reap(now + TTL) == []
        assert await presence.reap(now + 100 * TTL) == []

    async def test_reap_hands_out_at_most_limit_members_per_call(self, presence, now):
        room = a_room()
        members = [a_member() for _ in range(5)]
        for m in members:
            await presence.enter(room, m, now + TTL)
        batches = [await presence.reap(now + TTL, limit=2) for _ in range(4)]
        assert [len(b) for b in batches] == [2, 2, 1, 0]
        assert by_user([m for batch in batches for _, m in batch]) == by_user(members)

    async def test_reap_of_an_empty_presence_is_empty(self, presence, now):
        assert await presence.reap(now) == []

    async def test_a_replaced_member_is_reaped_by_its_new_deadline(self, presence, now):
        room, old = a_room(), a_member()
        new = evolve(old, connection_id=new_id())
        await presence.enter(room, old, now + TTL)
        await presence.enter(room, new, now + 2 * TTL)
        assert await presence.reap(now + TTL) == []
        assert await presence.reap(now + 2 * TTL) == [(room, new)]

    async def test_a_member_entering_again_after_being_reaped_is_fresh(self, presence, now):
        room, member = a_room(), a_member()
        await presence.enter(room, member, now + TTL)
        await presence.reap(now + TTL)
        assert await presence.enter(room, member, now + 3 * TTL) is None
        assert await presence.members(room, now + 2 * TTL) == [member]

    async def test_concurrent_reapers_hand_out_every_expired_member_exactly_once(self, presence, now):
        for _ in range(3):  # later rounds run on warm connections (see the racing removals)
            rooms = [a_room() for _ in range(3)]
            expired = [(rooms[n % 3], a_member()) for n in range(30)]
            for room, m in expired:
                await presence.enter(room, m, now + TTL - n_us(m))
            live = a_member()
            await presence.enter(rooms[0], live, now + 2 * TTL)
            batches = await asyncio.gather(*(presence.reap(now + TTL, limit=7) for _ in range(6)))
            reaped = [(room, m.user_id) for batch in batches for room, m in batch]
            assert len(reaped) == len(set(reaped)) == 30
            assert set(reaped) == {(room, m.user_id) for room, m in expired}
            assert await presence.members(rooms[0], now) == [live]
            await presence.clear(rooms[0])

    # -- clear ---------------------------------------------------------------------------------

    async def test_clear_removes_and_returns_every_member_of_the_room(self, presence, now):
        room, other = a_room(), a_room()
        members = [a_busy_member(), a_member(), a_member()]
        for m in members:
            await presence.enter(room, m, now + TTL)
        bystander = a_member()
        await presence.enter(other, bystander, now + TTL)
        assert by_user(await presence.clear(room)) == by_user(members)
        assert await presence.members(room, now) == []
        assert await presence.clear(room) == []
        assert await presence.members(other, now) == [bystander]

    async def test_cleared_members_are_never_reaped(self, presence, now):
        room, other = a_room(), a_room()
        await presence.enter(room, a_member(), now + TTL)
        bystander = a_member()
        await presence.enter(other, bystander, now + TTL)
        await presence.clear(room)
        assert await presence.reap(now + TTL) == [(other, bystander)]

    async def test_clearing_an_unknown_room_returns_nobody(self, presence, now):
        assert await presence.clear(a_room()) == []


    # -- open sockets per user --------------------------------------------------------------------

    async def test_sockets_are_claimed_up_to_the_limit_and_one_more_is_refused(self, presence, now):
        user, other = UserId(new_id()), UserId(new_id())
        assert [await presence.claim_socket(user, f"s{n}", 3, now, now + TTL) for n in range(4)] == [
            True, True, True, False]
        assert await presence.claim_socket(user, "s1", 3, now, now + TTL) is True  # already one of them
        assert await presence.claim_socket(other, "s0", 3, now, now + TTL) is True  # per user

    async def test_a_released_socket_frees_its_place_and_releasing_twice_is_harmless(self, presence, now):
        user = UserId(new_id())
        for n in range(2):
            await presence.claim_socket(user, f"s{n}", 2, now, now + TTL)
        await presence.release_socket(user, "s0")
        await presence.release_socket(user, "s0")
        await presence.release_socket(UserId(new_id()), "nobody")
        assert await presence.claim_socket(user, "s2", 2, now, now + TTL) is True
        assert await presence.claim_socket(user, "s3", 2, now, now + TTL) is False

    async def test_a_socket_counts_until_its_deadline_and_renewal_moves_it(self, presence, now):
        user = UserId(new_id())
        await presence.claim_socket(user, "kept", 2, now, now + TTL)
        await presence.claim_socket(user, "lapsed", 2, now, now + TTL)
        await presence.renew_sockets([(user, "kept"), (user, "unknown")], now + US, now + 2 * TTL)
        assert await presence.claim_socket(user, "late", 2, now + TTL - US, now + 2 * TTL) is False
        assert await presence.claim_socket(user, "late", 2, now + TTL, now + 2 * TTL) is True
        assert await presence.claim_socket(user, "later", 2, now + TTL, now + 2 * TTL) is False
        # Renewing an unknown socket registered nothing: two live sockets, a third place is free.
        assert await presence.claim_socket(user, "fresh", 3, now + TTL, now + 2 * TTL) is True

    async def test_of_many_concurrent_claims_exactly_the_limit_succeed(self, presence, now):
        for _ in range(3):  # later rounds run on warm connections (see the racing removals)
            user = UserId(new_id())
            results = await asyncio.gather(*(presence.claim_socket(user, f"s{n}", 5, now, now + TTL)
                                             for n in range(20)))
            assert results.count(True) == 5


# -- SignalBus -------------------------------------------------------------------------------------

async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Waits (bounded) until ``check()`` holds: delivery may happen after ``publish`` returns."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError("not delivered in time")
        await asyncio.sleep(0.005)


class Inbox:
    """A handler that records what it gets; ``fail`` makes it raise after recording."""

    def __init__(self, fail: bool = False) -> None:
        self.seen: list[Any] = []
        self.fail = fail

    async def __call__(self, event: Any) -> None:
        self.seen.append(event)
        if self.fail:
            raise RuntimeError("handler failed on purpose")

    def kinds(self) -> list[str]:
        return [m.text if isinstance(m, ev.ChatPosted) else type(m).__name__ for m in self.seen]


def a_message(room_id: MeetingId, kind: str = "chat") -> ev.ChatPosted:
    """A chat event whose text is ``kind`` (what Inbox.kinds reports)."""
    return ev.ChatPosted(room_id=room_id, message_id=new_id(), sender=UserId(new_id()), display_name="Ann",
                         text=kind, sent_at=T0)


def every_event(room_id: MeetingId) -> list[ev.RoomEvent]:
    """One of each room event, fields away from their defaults, so a round trip exercises the codec."""
    user, other = UserId(new_id()), UserId(new_id())
    return [
        ev.MemberJoined(room_id=room_id, member=a_busy_member()),
        ev.MemberLeft(room_id=room_id, user_id=user, connection_id=new_id(), reason=LeaveReason.KICKED),
        ev.MemberResumed(room_id=room_id, user_id=user),
        ev.SessionReplaced(room_id=room_id, user_id=user, connection_id=new_id()),
        ev.MemberKicked(room_id=room_id, user_id=user, by=other),
        ev.MemberKicked(room_id=room_id, user_id=user, by=None),
        ev.MemberRemoved(room_id=room_id, user_id=user),
        ev.RoomClosed(room_id=room_id, reason=CloseReason.CANCELLED),
        ev.LockChanged(room_id=room_id, locked=True),
        ev.RoleChanged(room_id=room_id, user_id=user, role="co_host"),
        ev.ChatPosted(room_id=room_id, message_id=new_id(), sender=user, display_name='Zoë "q" 👋',
                      text="héllo\n\"there\" 🎥", sent_at=dt.datetime(2030, 5, 17, 9, 30, 15, 654321,
                                                                     tzinfo=dt.timezone.utc)),
        ev.MediaChanged(room_id=room_id, user_id=user, media=MediaState(audio=False, video=False, screen=True)),
        ev.SignalSent(room_id=room_id, kind=SignalKind.OFFER, sender=user, to=other,
                      sdp="v=0\r\no=- 46117 2 IN IP4 127.0.0.1\r\n"),
        ev.SignalSent(room_id=room_id, kind=SignalKind.ICE_CANDIDATE, sender=user, to=other,
                      candidate=IceCandidate(candidate="candidate:1 1 udp 2122260223 192.0.2.10 54321 typ host",
                                             sdp_mid="0", sdp_mline_index=0, username_fragment="abcd")),
        ev.SignalSent(room_id=room_id, kind=SignalKind.ICE_CANDIDATE, sender=user, to=other,
                      candidate=IceCandidate(candidate="")),
        ev.ActiveSpeakerChanged(room_id=room_id, user_id=other),
        ev.RecordingChanged(room_id=room_id, recording_id=new_id(), active=True, started_by=user),
        ev.RecordingChanged(room_id=room_id, recording_id=new_id(), active=False, reason="meeting_ended"),
        ev.CaptionsChanged(room_id=room_id, on=True, available=False, by=user,
                           reason="speech_to_text_unavailable"),
        ev.CaptionSpoken(room_id=room_id, caption_id=new_id(), speaker_id=other, display_name='Zoë "q" 👋',
                         text="héllo, wörld — 12 %", final=False, start_s=61.25, end_s=63.5,
                         start_at=dt.datetime(2030, 5, 17, 9, 31, 16, 250000, tzinfo=dt.timezone.utc),
                         end_at=dt.datetime(2030, 5, 17, 9, 31, 18, 500000, tzinfo=dt.timezone.utc)),
    ]


class SignalBusContract:
    @pytest.fixture
    async def bus(self) -> SignalBus:
        raise NotImplementedError

    async def barrier(self, bus: SignalBus, room: MeetingId, witness: Inbox) -> None:
        """Publishes a marker to ``room`` (where ``witness`` listens) and waits until it is in: what
        was published before it and was going to arrive has arrived."""
        marker = a_message(room, kind=f"marker-{new_id()}")
        await bus.publish(marker)
        await eventually(lambda: marker in witness.seen)

    async def test_every_room_event_arrives_equal_to_the_original(self, bus):
        room, inbox = a_room(), Inbox()
        events = every_event(room)
        async with bus.listen(room, inbox):
            for event in events:
                await bus.publish(event)
            await eventually(lambda: len(inbox.seen) >= len(events))
        assert inbox.seen == events
        assert {type(e) for e in inbox.seen} == {
            cls for cls in vars(ev).values() if isinstance(cls, type) and issubclass(cls, ev.RoomEvent)
            and cls is not ev.RoomEvent}

    async def test_messages_arrive_in_publish_order(self, bus):
        room, inbox = a_room(), Inbox()
        messages = [a_message(room, kind=f"n{n}") for n in range(50)]
        async with bus.listen(room, inbox):
            for m in messages:
                await bus.publish(m)
            await eventually(lambda: len(inbox.seen) >= 50)
            await self.barrier(bus, room, inbox)
        assert inbox.seen[:50] == messages
        assert len(inbox.seen) == 51

    async def test_a_listener_receives_messages_of_its_room_only(self, bus):
        room, other, inbox = a_room(), a_room(), Inbox()
        async with bus.listen(room, inbox):
            await bus.publish(a_message(other, kind="elsewhere"))
            await self.barrier(bus, room, inbox)
        assert "elsewhere" not in inbox.kinds()
        assert len(inbox.seen) == 1

    async def test_listeners_of_different_rooms_each_get_their_own_messages(self, bus):
        room, other = a_room(), a_room()
        here, there = Inbox(), Inbox()
        async with bus.listen(room, here), bus.listen(other, there):
            await bus.publish(a_message(room, kind="for-room"))
            await bus.publish(a_message(other, kind="for-other"))
            await eventually(lambda: here.seen and there.seen)
            await self.barrier(bus, room, here)
            await self.barrier(bus, other, there)
        assert here.kinds()[0] == "for-room" and "for-other" not in here.kinds()
        assert there.kinds()[0] == "for-other" and "for-room" not in there.kinds()

    async def test_nothing_is_delivered_before_listening(self, bus):
        room, inbox = a_room(), Inbox()
        await bus.publish(a_message(room, kind="too-early"))
        async with bus.listen(room, inbox):
            await self.barrier(bus, room, inbox)
        assert "too-early" not in inbox.kinds()

    async def test_two_listeners_on_one_room_both_receive(self, bus):
        room, first, second = a_room(), Inbox(), Inbox()
        message = every_event(room)[0]
        async with bus.listen(room, first), bus.listen(room, second):
            await bus.publish(message)
            await eventually(lambda: first.seen and second.seen)
        assert first.seen == second.seen == [message]

    async def test_leaving_the_listen_context_stops_delivery(self, bus):
        room, leaver, witness = a_room(), Inbox(), Inbox()
        async with bus.listen(room, witness):
            async with bus.listen(room, leaver):
                await bus.publish(a_message(room, kind="before"))
                await eventually(lambda: leaver.seen)
            await bus.publish(a_message(room, kind="after"))
            await eventually(lambda: "after" in witness.kinds())
            await self.barrier(bus, room, witness)
        assert leaver.kinds() == ["before"]

    async def test_the_last_listener_leaving_stops_delivery_and_a_new_one_receives_again(self, bus):
        room, first, second, witness = a_room(), Inbox(), Inbox(), Inbox()
        async with bus.listen(room, first):
            await bus.publish(a_message(room, kind="one"))
            await eventually(lambda: first.seen)
        await bus.publish(a_message(room, kind="unheard"))
        async with bus.listen(room, second):
            await bus.publish(a_message(room, kind="two"))
            await eventually(lambda: second.seen)
        other = a_room()
        async with bus.listen(other, witness):
            await self.barrier(bus, other, witness)
        assert first.kinds() == ["one"]
        assert second.kinds() == ["two"]

    async def test_a_failing_handler_does_not_stop_other_handlers_or_later_messages(self, bus):
        room, failing, healthy = a_room(), Inbox(fail=True), Inbox()
        async with bus.listen(room, failing), bus.listen(room, healthy):
            await bus.publish(a_message(room, kind="one"))
            await bus.publish(a_message(room, kind="two"))
            await eventually(lambda: len(healthy.seen) == 2 and len(failing.seen) == 2)
        assert healthy.kinds() == failing.kinds() == ["one", "two"]

    async def test_a_failing_handler_of_one_room_does_not_affect_another_room(self, bus):
        room, other, failing, healthy = a_room(), a_room(), Inbox(fail=True), Inbox()
        async with bus.listen(room, failing), bus.listen(other, healthy):
            await bus.publish(a_message(room, kind="boom"))
            await bus.publish(a_message(other, kind="fine"))
            await eventually(lambda: healthy.seen)
        assert healthy.kinds() == ["fine"]

    async def test_publishing_to_a_room_nobody_listens_to_is_harmless(self, bus):
        await bus.publish(a_message(a_room()))

    async def test_a_handler_may_publish_to_its_own_room(self, bus):
        room, inbox = a_room(), Inbox()

        async def echo(message: Any) -> None:
            await inbox(message)
            if message.text == "ping":
                await bus.publish(a_message(room, kind="pong"))

        async with bus.listen(room, echo):
            await bus.publish(a_message(room, kind="ping"))
            await eventually(lambda: len(inbox.seen) == 2)
        assert inbox.kinds() == ["ping", "pong"]

    async def test_a_revocation_notice_reaches_every_revocation_listener_equal(self, bus):
        first, second, room_inbox = Inbox(), Inbox(), Inbox()
        notices = [ev.AccessRevoked(user_id=UserId(new_id()), session_id=new_id()),
                   ev.AccessRevoked(user_id=UserId(new_id()))]
        room = a_room()
        async with bus.listen_revocations(first), bus.listen_revocations(second), bus.listen(room, room_inbox):
            for notice in notices:
                await bus.broadcast(notice)
            await eventually(lambda: len(first.seen) == 2 and len(second.seen) == 2)
            await self.barrier(bus, room, room_inbox)
        assert first.seen == second.seen == notices
        assert room_inbox.kinds()[:-1] == []  # notices are of no room

    async def test_revocation_notices_stop_when_the_listener_leaves(self, bus):
        gone, staying = Inbox(), Inbox()
        async with bus.listen_revocations(staying):
            async with bus.listen_revocations(gone):
                await bus.broadcast(ev.AccessRevoked(user_id=UserId(new_id())))
                await eventually(lambda: gone.seen)
            later = ev.AccessRevoked(user_id=UserId(new_id()))
            await bus.broadcast(later)
            await eventually(lambda: later in staying.seen)
        assert len(gone.seen) == 1
