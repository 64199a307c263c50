"""Analysis models benchmark: quality and speed of the in-process engine and of Triton, same run.

- WER and real-time factor of Whisper tiny.en at several white-noise levels (espeak-ng speech: a
  comparison between conditions on synthetic speech, not meeting accuracy);
- Triton overhead: the same warm calls through a real model server (gRPC) against the in-process
  engine (the baseline), median latency ratio per call kind (goal: < 2x for audio calls);
- throughput of concurrent calls with Triton's dynamic batching and without (APP_INFERENCE_MAX_BATCH=1).

Starts its own model servers on free 127.0.0.1 ports (~30 s each).  Needs espeak-ng and sox.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from adapters.inference.engine import InProcessEngine  # noqa: E402
from adapters.triton.engine import TritonEngine  # noqa: E402
from confero_contracts.speech import SENTENCES, concat, espeak, silence, wer, with_noise  # noqa: E402
from domain.analysis.inference import VideoFrame  # noqa: E402
from tests.support.triton import PrivateTriton  # noqa: E402

T = 120.0
NOISE_LEVELS = (None, 20.0, 10.0, 5.0)


async def quality(engine, label: str) -> None:  # type: ignore[no-untyped-def]
    print(f"\n## WER and real-time factor ({label}; {len(SENTENCES)} espeak-ng sentences + one long-form clip)")
    print("| noise (white, SNR dB) | WER sentences | WER long-form | RTF |")
    print("|---|---|---|---|")
    long_text = " ".join(SENTENCES)
    for snr in NOISE_LEVELS:
        errors, spent, audio_s = [], 0.0, 0.0
        for seed, text in enumerate(SENTENCES):
            clip = with_noise(espeak(text), snr, seed=seed)
            start = time.perf_counter()
            result = await engine.transcribe(clip, timeout=T)
            spent += time.perf_counter() - start
            audio_s += clip.duration_s
            errors.append(wer(text, result.text))
        long_clip = with_noise(concat(*(c for t in SENTENCES for c in (espeak(t), silence(0.4)))), snr, seed=99)
        start = time.perf_counter()
        long_result = await engine.transcribe(long_clip, timeout=T)
        spent += time.perf_counter() - start
        audio_s += long_clip.duration_s
        print(f"| {'clean' if snr is None else f'{snr:.0f}'} | {statistics.mean(errors):.1%} | "
              f"{wer(long_text, long_result.text):.1%} | {spent / audio_s:.2f} |")


async def latency(engine, calls: dict, repeats: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    out = {}
    for name, call in calls.items():
        await call(engine)  # warm
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            await call(engine)
            samples.append(time.perf_counter() - start)
        out[name] = statistics.median(samples)
    return out


def call_kinds() -> dict:  # type: ignore[type-arg]
    clip16 = espeak(SENTENCES[0])
    clip48 = with_noise(espeak(SENTENCES[0], rate=48_000), 10.0)
    frame = VideoFrame(width=640, height=480, rgb=bytes(640 * 480 * 3))
    return {
        f"transcribe {clip16.duration_s:.1f} s": lambda e: e.transcribe(clip16, timeout=T),
        f"denoise rnnoise {clip48.duration_s:.1f} s": lambda e: e.denoise(clip48, method="rnnoise", timeout=T),
        f"denoise deepfilternet {clip48.duration_s:.1f} s": lambda e: e.denoise(clip48, method="deepfilternet", timeout=T),
        f"vocal arousal {clip16.duration_s:.1f} s": lambda e: e.vocal_arousal(clip16, timeout=T),
        "text emotion, 1 text": lambda e: e.text_emotion(["I am so happy with the result"], timeout=T),
        "enhance 640x480 frame": lambda e: e.enhance_frame(frame, operations=["low_light", "sharpen"], timeout=T),
    }


async def throughput(engine, concurrency: int, seconds: float, call) -> float:  # type: ignore[no-untyped-def]
    done = 0
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal done
        while time.monotonic() < deadline:
            await call(engine)
            done += 1

    start = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.monotonic() - start)


async def main(args: argparse.Namespace) -> None:
    local = InProcessEngine()
    await quality(local, "in-process")
    kinds = call_kinds()
    base = await latency(local, kinds, args.repeats)

    batched = PrivateTriton()
    batched.start()
    try:
        remote = await TritonEngine([batched.grpc_url]).start()
        await quality(remote, "Triton (the same model: WER must match the in-process figures)")
        over = await latency(remote, kinds, args.repeats)
        # Alternate once more so a drift of the machine's load shows up in both columns.
        base2 = await latency(local, kinds, args.repeats)
        print("\n## Triton (gRPC) overhead against the in-process engine (median warm latency)")
        print("| call | in-process | Triton | ratio |")
        print("|---|---|---|---|")
        for name in kinds:
            b = min(base[name], base2[name])
            print(f"| {name} | {b * 1000:.1f} ms | {over[name] * 1000:.1f} ms | {over[name] / b:.2f}x |")
        emotion = lambda e: e.text_emotion(["The meeting went really well today"], timeout=T)  # noqa: E731
        clip = espeak(SENTENCES[1])
        asr = lambda e: e.transcribe(clip, timeout=T)  # noqa: E731
        rows = [("text emotion, 1 text/call, 32 concurrent", 32, emotion),
                ("transcribe 3 s clip, 4 concurrent", 4, asr)]
        with_batch = {name: await throughput(remote, c, args.seconds, fn) for name, c, fn in rows}
        local_rate = {name: await throughput(local, c, args.seconds, fn) for name, c, fn in rows}
        await remote.close()
    finally:
        batched.stop()

    single = PrivateTriton(APP_INFERENCE_MAX_BATCH="1")
    single.start()
    try:
        remote = await TritonEngine([single.grpc_url]).start()
        without = {name: await throughput(remote, c, args.seconds, fn) for name, c, fn in rows}
        await remote.close()
    finally:
        single.stop()
    print(f"\n## Throughput on this machine, calls/s over {args.seconds:.0f} s")
    print("| load | in-process | Triton, dynamic batching (max 8) | Triton, no batching | batching gain |")
    print("|---|---|---|---|---|")
    for name, _c, _fn in rows:
        print(f"| {name} | {local_rate[name]:.1f} | {with_batch[name]:.1f} | {without[name]:.1f} | "
              f"{with_batch[name] / without[name]:.2f}x |")
    await local.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=15.0)
    asyncio.run(main(parser.parse_args()))
