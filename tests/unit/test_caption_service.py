"""The captions use case on the memory adapters and a fake captioner: what the sink hears goes to the
transcript (final captions, once) and to the room (every caption, timed in meeting seconds); outages
are told once; the captioner follows the room's events; the transcript is for the meeting's members."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from adapters.inprocess.captioned_meetings import RepositoryCaptionedMeetings
from adapters.inprocess.user_directory import RepositoryUserDirectory
from adapters.memory.captions import InMemoryTranscriptStore
from adapters.memory.meetings import InMemoryMeetingRepository
from adapters.memory.rooms import InMemorySignalBus
from adapters.memory.users import InMemoryUserRepository
from confero_contracts.factories import a_meeting, a_user
from domain.captions.errors import TranscriptHidden
from domain.captions.model import Caption
from domain.captions.service import CaptionService
from domain.meetings import events as me
from domain.meetings.errors import MeetingNotFound
from domain.meetings.model import MeetingStatus, Participant
from domain.rooms import events as ev
from domain.rooms.model import CloseReason
from domain.shared.actor import Actor
from domain.shared.ids import MeetingId, UserId, new_id

T0 = dt.datetime(2030, 1, 7, 9, 0, tzinfo=dt.timezone.utc)


class FakeCaptioner:
    """RoomCaptioner that remembers what it was asked."""

    def __init__(self) -> None:
        self.rooms: set[MeetingId] = set()
        self.calls: list[tuple[str, MeetingId]] = []

    async def start(self, room_id: MeetingId) -> None:
        self.calls.append(("start", room_id))
        self.rooms.add(room_id)

    async def stop(self, room_id: MeetingId) -> None:
        self.calls.append(("stop", room_id))
        self.rooms.discard(room_id)

    async def captioning(self) -> list[MeetingId]:
        return sorted(self.rooms)


class World:
    def __init__(self) -> None:
        self.store = InMemoryTranscriptStore()
        self.bus = InMemorySignalBus()
        self.meetings = InMemoryMeetingRepository()
        self.users = InMemoryUserRepository()
        self.captioner = FakeCaptioner()
        self.service = CaptionService(transcripts=self.store, bus=self.bus, meetings=self.meetings,
                                      captioned=RepositoryCaptionedMeetings(self.meetings),
                                      users=RepositoryUserDirectory(self.users), captioner=self.captioner)
        self.heard: list[Any] = []
        self.host = a_user(display_name="Ann Host")
        self.guest = a_user(display_name="Bob <Guest>")
        self.outsider = a_user()
        self.people_added = False

    async def hear(self, event: Any) -> None:
        self.heard.append(event)

    async def live_meeting(self, captions_on: bool = True) -> MeetingId:
        if not self.people_added:
            for u in (self.host, self.guest, self.outsider):
                await self.users.add(u)
            self.people_added = True
        m = a_meeting(host_id=self.host.id, status=MeetingStatus.LIVE, started_at=T0, captions_on=captions_on,
                      participants={u: Participant(user_id=u, joined_at=T0) for u in (self.host.id, self.guest.id)},
                      attendees={self.host.id, self.guest.id})
        await self.meetings.add(m)
        return m.id

    def caption(self, meeting_id: MeetingId, at_s: float, text: str, *, final: bool = True,
                speaker: UserId | None = None, caption_id: str | None = None) -> Caption:
        start = T0 + dt.timedelta(seconds=at_s)
        return Caption(id=caption_id or new_id(), meeting_id=meeting_id, speaker_id=speaker or self.guest.id,
                       text=text, final=final, start_at=start, end_at=start + dt.timedelta(seconds=2))


@pytest.fixture
async def world() -> World:
    return World()


async def test_every_caption_reaches_the_room_and_only_final_ones_the_transcript(world: World) -> None:
    mid = await world.live_meeting()
    async with world.bus.listen(mid, world.hear):
        await world.service.heard(world.caption(mid, 12.5, "hello every", final=False, caption_id="w-1"))
        await world.service.heard(world.caption(mid, 12.5, "hello everyone", caption_id="w-1"))
    partial, final = world.heard
    assert isinstance(partial, ev.CaptionSpoken) and not partial.final and partial.caption_id == "w-1"
    assert final == ev.CaptionSpoken(
        room_id=mid, caption_id="w-1", speaker_id=world.guest.id, display_name="Bob <Guest>",
        text="hello everyone", final=True, start_s=12.5, end_s=14.5, start_at=T0 + dt.timedelta(seconds=12.5),
        end_at=T0 + dt.timedelta(seconds=14.5))
    assert [c.text for c in await world.store.transcript(mid)] == ["hello everyone"]


async def test_a_caption_without_words_is_dropped(world: World) -> None:
    mid = await world.live_meeting()
    async with world.bus.listen(mid, world.hear):
        await world.service.heard(world.caption(mid, 1, "  "))
    assert world.heard == [] and await world.store.transcript(mid) == []


async def test_a_redelivered_final_caption_is_kept_once(world: World) -> None:
    mid = await world.live_meeting()
    again = world.caption(mid, 1, "once")
    await world.service.heard(again)
    await world.service.heard(again)
    assert len(await world.store.transcript(mid)) == 1


@pytest.mark.parametrize("state", ["captions_off", "ended", "unknown"])
async def test_captions_of_a_room_without_captions_are_dropped(world: World, state: str) -> None:
    mid = await world.live_meeting(captions_on=state != "captions_off")
    if state == "ended":
        m = await world.meetings.get(mid)
        m.end(Actor(world.host.id), now=T0 + dt.timedelta(minutes=5))
        await world.meetings.save(m)
    target = MeetingId(new_id()) if state == "unknown" else mid
    async with world.bus.listen(target, world.hear):
        await world.service.heard(world.caption(target, 1, "lost"))
    assert world.heard == [] and await world.store.transcript(target) == []


async def test_captions_after_turning_off_are_dropped(world: World) -> None:
    mid = await world.live_meeting()
    await world.service.heard(world.caption(mid, 1, "kept"))
    m = await world.meetings.get(mid)
    m.turn_captions_off(Actor(world.host.id), now=T0)
    await world.meetings.save(m)
    await world.service.on_room_event(ev.CaptionsChanged(room_id=mid, on=False, by=world.host.id))
    await world.service.heard(world.caption(mid, 5, "late"))
    assert [c.text for c in await world.store.transcript(mid)] == ["kept"]


async def test_an_outage_and_its_end_are_told_once_each(world: World) -> None:
    mid = await world.live_meeting()
    async with world.bus.listen(mid, world.hear):
        await world.service.unavailable(mid, "the AI service cannot be reached (OSError at 10.0.0.7)")
        await world.service.unavailable(mid, "Triton: connection refused")
        assert not (await world.service.joined(mid)).available
        await world.service.resumed(mid)
        await world.service.resumed(mid)
    assert world.heard == [
        ev.CaptionsChanged(room_id=mid, on=True, available=False, reason="speech_to_text_unavailable"),
        ev.CaptionsChanged(room_id=mid, on=True, available=True)]
    assert (await world.service.joined(mid)).available


async def test_the_captioner_follows_the_room(world: World) -> None:
    mid, other = MeetingId(new_id()), MeetingId(new_id())
    await world.service.on_room_event(ev.CaptionsChanged(room_id=mid, on=True, by=world.host.id))
    await world.service.on_room_event(ev.ChatPosted(room_id=mid, message_id="x", sender=world.host.id,
                                                    display_name="a", text="t", sent_at=T0))  # ignored
    await world.service.on_room_event(ev.CaptionsChanged(room_id=other, on=True, by=world.host.id))
    await world.service.on_room_event(ev.CaptionsChanged(room_id=mid, on=False, by=world.host.id))
    await world.service.on_room_event(ev.RoomClosed(room_id=other, reason=CloseReason.ENDED))
    assert world.captioner.calls == [("start", mid), ("start", other), ("stop", mid), ("stop", other)]
    assert world.captioner.rooms == set()


async def test_a_member_joining_a_captioned_room_starts_the_captioner_where_it_does_not_run(world: World) -> None:
    mid = await world.live_meeting()
    now = await world.service.joined(mid)
    assert (now.on, now.available) == (True, True) and world.captioner.calls == [("start", mid)]
    await world.service.joined(mid)  # runs already: not again
    assert world.captioner.calls == [("start", mid)]


async def test_joining_a_room_without_captions_starts_nothing(world: World) -> None:
    mid = await world.live_meeting(captions_on=False)
    assert not (await world.service.joined(mid)).on
    assert world.captioner.calls == []


async def test_without_a_captioner_captions_are_unavailable(world: World) -> None:
    world.service.captioner = None
    mid = await world.live_meeting()
    now = await world.service.joined(mid)
    assert (now.on, now.available, now.reason) == (True, False, "not_configured")


async def test_the_transcript_is_for_members_and_administrators(world: World) -> None:
    mid = await world.live_meeting()
    for n, text in enumerate(["one", "two", "three"]):
        await world.service.heard(world.caption(mid, 10 * n, text, speaker=world.host.id if n == 1 else None))
    for who in (Actor(world.host.id), Actor(world.guest.id), Actor(world.outsider.id, is_admin=True)):
        t = await world.service.transcript(who, mid)
        assert [c.text for c in t.captions] == ["one", "two", "three"] and t.origin == T0
        assert t.names == {world.host.id: "Ann Host", world.guest.id: "Bob <Guest>"}
    with pytest.raises(TranscriptHidden):
        await world.service.transcript(Actor(world.outsider.id), mid)
    with pytest.raises(MeetingNotFound):
        await world.service.transcript(Actor(world.host.id), MeetingId(new_id()))


async def test_a_span_of_the_transcript_counts_from_its_start(world: World) -> None:
    mid = await world.live_meeting()
    for s in (0, 10, 20, 30):
        await world.service.heard(world.caption(mid, s, str(s)))
    t = await world.service.transcript(Actor(world.guest.id), mid, since=T0 + dt.timedelta(seconds=10),
                                       until=T0 + dt.timedelta(seconds=30))
    assert [c.text for c in t.captions] == ["10", "20"] and t.origin == T0 + dt.timedelta(seconds=10)


async def test_a_deleted_meetings_transcript_goes_with_it(world: World) -> None:
    mid = await world.live_meeting()
    other = await world.live_meeting()
    await world.service.heard(world.caption(mid, 1, "gone"))
    await world.service.heard(world.caption(other, 1, "kept"))
    deleted = me.MeetingDeleted(occurred_at=T0, meeting_id=mid, by=world.host.id)
    await world.service.on_event(deleted)
    await world.service.on_event(deleted)  # again: nothing more
    await world.service.on_event(me.MeetingEnded(occurred_at=T0, meeting_id=other, by=world.host.id))
    assert await world.store.transcript(mid) == []
    assert [c.text for c in await world.store.transcript(other)] == ["kept"]


async def test_a_tap_left_running_while_captions_went_off_unheard_stops_when_someone_joins(world: World) -> None:
    mid = await world.live_meeting(captions_on=False)
    await world.captioner.start(mid)  # this process missed the turn-off
    assert not (await world.service.joined(mid)).on
    assert world.captioner.rooms == set()


async def test_an_idle_room_stops_its_tap_here(world: World) -> None:
    mid = await world.live_meeting()
    await world.service.joined(mid)
    await world.service.idle(mid)
    await world.service.idle(mid)  # nothing more
    assert world.captioner.calls == [("start", mid), ("stop", mid)]
