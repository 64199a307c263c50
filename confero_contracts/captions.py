"""Contract for ports.captions.TranscriptStore (a meeting's final captions, kept once, in order)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from domain.captions.model import Caption
from domain.shared.ids import MeetingId, UserId, new_id
from ports.captions import TranscriptStore

T0 = dt.datetime(2026, 3, 1, 9, 0, 0, 123000, tzinfo=dt.timezone.utc)  # milliseconds, as BSON dates keep


def a_caption(meeting: MeetingId, at_s: float, *, text: str = "hello there", speaker: str = "u-1",
              final: bool = True, caption_id: str | None = None) -> Caption:
    start = T0 + dt.timedelta(seconds=at_s)
    return Caption(id=caption_id or new_id(), meeting_id=meeting, speaker_id=UserId(speaker), text=text,
                   final=final, start_at=start, end_at=start + dt.timedelta(milliseconds=2500))


def a_meeting_id() -> MeetingId:
    return MeetingId(new_id())


class TranscriptStoreContract:
    @pytest.fixture
    async def store(self) -> TranscriptStore:
        raise NotImplementedError

    async def test_a_kept_caption_comes_back_equal_with_aware_utc_times(self, store):
        m = a_meeting_id()
        caption = a_caption(m, 1.5, text="ünïcødé, 'quotes' & <angles> ✓", speaker=new_id())
        await store.add(caption)
        [got] = await store.transcript(m)
        assert got == caption
        assert got.start_at.utcoffset() == dt.timedelta(0)

    async def test_the_transcript_is_ordered_by_start_then_id(self, store):
        m = a_meeting_id()
        same = [a_caption(m, 5, caption_id=f"c-{n}") for n in (3, 1, 2)]
        for c in [a_caption(m, 9), *same, a_caption(m, 0.25)]:
            await store.add(c)
        got = await store.transcript(m)
        assert [c.start_at for c in got] == sorted(c.start_at for c in got)
        assert [c.id for c in got[1:4]] == ["c-1", "c-2", "c-3"]

    async def test_adding_a_caption_again_keeps_the_first(self, store):
        m = a_meeting_id()
        first = a_caption(m, 1, caption_id="w-0", text="first")
        await store.add(first)
        await store.add(first)
        await store.add(a_caption(m, 1, caption_id="w-0", text="redelivered"))
        assert await store.transcript(m) == [first]

    async def test_concurrent_adds_of_one_caption_keep_it_once(self, store):
        m = a_meeting_id()
        c = a_caption(m, 2, caption_id=new_id())
        await asyncio.gather(*(store.add(c) for _ in range(8)))
        assert await store.transcript(m) == [c]

    async def test_a_partial_caption_is_refused(self, store):
        m = a_meeting_id()
        with pytest.raises(ValueError):
            await store.add(a_caption(m, 1, final=False))
        assert await store.transcript(m) == []

    async def test_meetings_are_kept_apart(self, store):
        m1, m2 = a_meeting_id(), a_meeting_id()
        await store.add(a_caption(m1, 1, text="one"))
        await store.add(a_caption(m2, 1, text="two"))
        assert [c.text for c in await store.transcript(m1)] == ["one"]
        assert await store.transcript(a_meeting_id()) == []

    async def test_since_and_limit(self, store):
        m = a_meeting_id()
        for s in range(6):
            await store.add(a_caption(m, s, text=str(s)))
        assert [c.text for c in await store.transcript(m, since=T0 + dt.timedelta(seconds=3))] == ["3", "4", "5"]
        assert [c.text for c in await store.transcript(m, limit=2)] == ["0", "1"]
        assert [c.text for c in await store.transcript(m, since=T0 + dt.timedelta(seconds=2), limit=1)] == ["2"]
        assert await store.transcript(m, limit=0) == []

    async def test_until_cuts_the_span_before_it(self, store):
        m = a_meeting_id()
        for s in range(6):
            await store.add(a_caption(m, s, text=str(s)))
        assert [c.text for c in await store.transcript(m, until=T0 + dt.timedelta(seconds=2))] == ["0", "1"]
        assert [c.text for c in await store.transcript(m, since=T0 + dt.timedelta(seconds=1),
                                                       until=T0 + dt.timedelta(seconds=4))] == ["1", "2", "3"]
        assert await store.transcript(m, until=T0) == []

    async def test_delete_removes_the_meetings_transcript_and_counts_it(self, store):
        m, other = a_meeting_id(), a_meeting_id()
        for s in range(3):
            await store.add(a_caption(m, s))
        await store.add(a_caption(other, 0))
        assert await store.delete(m) == 3
        assert await store.transcript(m) == []
        assert await store.delete(m) == 0
        assert len(await store.transcript(other)) == 1
