"""Several caption streams at once share the speech model fairly: windows are transcribed round-robin
between streams, at most ``slots`` at a time, whatever backlog one stream has (real concurrency, a slow
fake model; order is asserted, never time)."""

from __future__ import annotations

import asyncio

from adapters.inference.fair import FairScheduler
from adapters.inference.streaming import transcribe_windows
from domain.analysis.inference import PcmAudio, Segment, Transcription


class SlowModel:
    """Each call takes several loop turns; records which stream's which window it was, and how many
    calls ran at once."""

    def __init__(self) -> None:
        self.order: list[tuple[str, int]] = []
        self.running = self.most = 0

    async def transcribe(self, audio: PcmAudio, *, prompt: str = "", timeout: float) -> Transcription:
        stream, index = audio.samples.decode().split(":")
        self.order.append((stream, int(index)))
        self.running += 1
        self.most = max(self.most, self.running)
        for _ in range(5):
            await asyncio.sleep(0)
        self.running -= 1
        return Transcription(language="en", segments=(Segment(start_s=0, end_s=1, text=f"{stream}{index}",
                                                              confidence=1.0),))


async def backlog(stream: str, count: int, ready: asyncio.Event | None = None):
    if ready is not None:
        await ready.wait()
    for i in range(count):
        yield PcmAudio(samples=f"{stream}:{i}".encode(), sample_rate=16_000)


async def consume(model: SlowModel, scheduler: FairScheduler, stream: str, count: int,
                  ready: asyncio.Event | None = None) -> list[str]:
    return [t.text async for t in transcribe_windows(model.transcribe, backlog(stream, count, ready), timeout=5,
                                                      scheduler=scheduler)]


async def test_three_streams_with_equal_backlogs_take_turns():
    model, scheduler = SlowModel(), FairScheduler(1)
    results = await asyncio.gather(*(consume(model, scheduler, s, 6) for s in "abc"))
    assert results == [[f"{s}{i}" for i in range(6)] for s in "abc"]  # each stream in its own order
    rounds = [sorted(s for s, _ in model.order[i:i + 3]) for i in range(0, 18, 3)]
    assert rounds == [["a", "b", "c"]] * 6
    assert model.most == 1


async def test_a_stream_with_a_long_backlog_does_not_hold_back_the_others():
    model, scheduler, others = SlowModel(), FairScheduler(1), asyncio.Event()
    long = asyncio.create_task(consume(model, scheduler, "a", 12))
    while len(model.order) < 2:  # a is well into its backlog when b and c start talking
        await asyncio.sleep(0)
    others.set()
    short = await asyncio.gather(*(consume(model, scheduler, s, 3, others) for s in "bc"))
    assert short == [["b0", "b1", "b2"], ["c0", "c1", "c2"]]
    done_by_then = max(model.order.index(("b", 2)), model.order.index(("c", 2)))
    assert sum(1 for s, _ in model.order[:done_by_then + 1] if s == "a") <= 2 + 3 + 1
    assert len(await long) == 12


async def test_concurrency_stays_within_the_slots():
    model, scheduler = SlowModel(), FairScheduler(2)
    await asyncio.gather(*(consume(model, scheduler, s, 4) for s in "abcde"))
    assert model.most == 2 and len(model.order) == 20


async def test_a_stream_cancelled_while_waiting_gives_no_slot_away():
    model, scheduler = SlowModel(), FairScheduler(1)
    busy = asyncio.create_task(consume(model, scheduler, "a", 3))
    waiting = asyncio.create_task(consume(model, scheduler, "b", 3))
    while scheduler.waiting == 0:
        await asyncio.sleep(0)
    waiting.cancel()
    assert await busy == ["a0", "a1", "a2"]
    assert await consume(model, scheduler, "c", 2) == ["c0", "c1"]  # the slot is free again
