"""Captions tap cost on the media server: CPU per speaking participant, and what the tap adds to the
forwarding path.  In one process, no network (the tap's work does not depend on where frames came from):

1. ``decode + VAD``: Opus decode, resample to 16 kHz mono and the VAD of ``--seconds`` of espeak-ng
   speech with short and long pauses (adapters/pyav/opus_pcm.py + adapters/webrtc/speech_gate.py),
   time.process_time, as % of one core at real time.
2. ``tap in its loop``: 1, 2 and 4 speakers at once through AiortcRoomCaptioner (observer, queue,
   decoding task, utterance streams) to a speech-to-text that takes the audio and answers one line per
   stream; packets are offered in 20 ms steps as fast as the loop runs; process_time per speaker.
3. ``forwarding path``: the time a published track's ``send`` spends in its observers per frame, with
   no observer and with the captions tap (perf_counter; mean, p99, max in microseconds).  That is all
   the tap adds to forwarding: everything else runs in the tap's own task.

``python bench/caption_tap.py --seconds 60``
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from adapters.pyav.opus_pcm import OpusToPcm  # noqa: E402
from adapters.webrtc.caption_tap import AiortcRoomCaptioner  # noqa: E402
from adapters.webrtc.speech_gate import SpeechGate  # noqa: E402
from confero_contracts.speech import SENTENCES, espeak, silence  # noqa: E402
from domain.shared.ids import MeetingId, UserId, new_id  # noqa: E402
from tests.support.caption_fakes import FakeSink, FakeSpeech  # noqa: E402
from tests.support.encoded import FakePublished, opus_packets  # noqa: E402


def talk(seconds: float) -> list[bytes]:
    """Opus packets of sentences separated by 0.4 s and 1.5 s pauses, repeated to ``seconds``."""
    parts, total = [], 0.0
    while total < seconds:
        for i, s in enumerate(SENTENCES):
            clip = espeak(s, rate=48_000).samples
            pause = silence(0.4 if i % 2 == 0 else 1.5, rate=48_000).samples
            parts += [clip, pause]
            total += (len(clip) + len(pause)) / 96_000
    return opus_packets(b"".join(parts))[:int(seconds * 50)]


def decode_and_vad(packets: list[bytes]) -> float:
    decoder, gate = OpusToPcm(), SpeechGate()
    start = time.process_time()
    for i, p in enumerate(packets):
        for _ in gate.push(decoder.decode(p), i * 0.02):
            pass
    return time.process_time() - start


async def tap_in_loop(packets: list[bytes], speakers: int) -> tuple[float, dict[str, int]]:
    room = MeetingId(new_id())
    media = SimpleNamespace(watchers=[], rooms={})
    captioner = AiortcRoomCaptioner(media, FakeSpeech(), FakeSink())  # type: ignore[arg-type]
    await captioner.start(room)
    tracks = [FakePublished("audio") for _ in range(speakers)]
    for t in tracks:
        captioner.track_published(room, UserId(new_id()), t)  # type: ignore[arg-type]
    start = time.process_time()
    for i, p in enumerate(packets):
        for t in tracks:
            t.send(p, i * 960, False)
        await asyncio.sleep(0)
    taps = [tap for r in captioner._rooms.values() for tap in r.taps.values()]
    while any(not tap._queue.empty() for tap in taps):  # every frame decoded and gated
        await asyncio.sleep(0.01)
    cpu = time.process_time() - start
    stats = captioner.stats()
    await captioner.close()
    return cpu, stats


def forwarding(packets: list[bytes]) -> dict[str, list[float]]:
    async def run() -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        for label, tapped in (("no observer", False), ("captions tap", True)):
            track, room = FakePublished("audio"), MeetingId(new_id())
            captioner = AiortcRoomCaptioner(SimpleNamespace(watchers=[], rooms={}), FakeSpeech(),  # type: ignore[arg-type]
                                            FakeSink())
            await captioner.start(room)
            if tapped:
                captioner.track_published(room, UserId(new_id()), track)  # type: ignore[arg-type]
            times = []
            for i, p in enumerate(packets):
                t0 = time.perf_counter()
                track.send(p, i * 960, False)
                times.append((time.perf_counter() - t0) * 1e6)
                if i % 5 == 4:
                    await asyncio.sleep(0)
            out[label] = times
            await captioner.close()
        return out
    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    packets = talk(args.seconds)
    audio_s = len(packets) * 0.02
    cpu = decode_and_vad(packets)
    print(f"decode + resample + VAD: {cpu:.3f} s CPU for {audio_s:.0f} s of speech = "
          f"{100 * cpu / audio_s:.2f} % of one core per speaking participant")
    for n in (1, 2, 4):
        cpu, stats = asyncio.run(tap_in_loop(packets, n))
        print(f"tap in its loop, {n} speaker(s): {cpu / n:.3f} s CPU per speaker = {100 * cpu / n / audio_s:.2f} % "
              f"of one core each; streams {stats['streams']}, frames {stats['frames']}, dropped {stats['dropped']}")
    for label, times in forwarding(packets).items():
        ordered = sorted(times)
        print(f"forwarding path, {label}: per frame mean {statistics.mean(times):.1f} us, "
              f"p99 {ordered[int(0.99 * len(ordered))]:.1f} us, max {ordered[-1]:.1f} us")


if __name__ == "__main__":
    main()
