"""What the analysis API adds around a model call: HTTP upload + PyAV decoding + store + job record,
against the same warm call made on the engine directly (the in-run baseline).

Per call kind, the median latency through ``POST /api/v1/ai/analyses`` (the app in process on the
in-process engine, memory store) and of the bare engine call on the already decoded input, and their
ratio; then gRPC ``StreamTranscribe`` of the same clip against the bare ``transcribe``.
Needs espeak-ng and sox (test speech) and the ai extra.  Usage: python bench/ai_api.py [--runs N]
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
import aiohttp  # noqa: E402
from aiohttp.test_utils import TestClient, TestServer  # noqa: E402
from grpclib.testing import ChannelFor  # noqa: E402

from adapters.pyav.decoding import wav_file  # noqa: E402
from confero_contracts.speech import SENTENCES, concat, espeak  # noqa: E402
from domain.analysis.inference import PcmAudio  # noqa: E402
from proto.confero.analysis import v1 as pb  # noqa: E402
from runners.rpc.errors import CheckedProtoCodec  # noqa: E402
from runners.rpc.servicer import AnalysisServicer  # noqa: E402
from runners.serve import composed  # noqa: E402
from runners.settings import Settings  # noqa: E402
from runners.web.app import create_app  # noqa: E402

T = 120.0


async def timed(runs: int, call) -> float:  # type: ignore[no-untyped-def]
    await call()  # warm
    spent = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await call()
        spent.append(time.perf_counter() - t0)
    return statistics.median(spent)


async def main(runs: int) -> None:
    settings = Settings.from_env({"APP_FAST_PASSWORD_HASHING": "true", "APP_LOG_LEVEL": "WARNING",
                                  "APP_AI_SUBMISSIONS_PER_MINUTE": "100000", "APP_AI_SYNC_MAX_SECONDS": "120"})
    async with composed(settings) as (_, services):
        client = TestClient(TestServer(create_app(services, settings)))
        await client.start_server()
        try:
            user = {"username": "bench", "email": "bench@example.com", "password": "correct horse battery"}
            await client.post("/api/v1/auth/register", json=user)
            login = await client.post("/api/v1/auth/login", json={"username": "bench", "password": user["password"]})
            token = (await login.json())["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            engine = services.analysis.engine
            clip16 = concat(espeak(SENTENCES[0]), espeak(SENTENCES[1]))
            clip48 = espeak(SENTENCES[0], rate=48_000)

            async def http(kind: str, audio: PcmAudio | None = None, **fields: str) -> None:
                if audio is None:
                    r = await client.post("/api/v1/ai/analyses", json={"kind": kind, "text": SENTENCES[2]},
                                          headers=auth)
                else:
                    form = aiohttp.FormData({"kind": kind, **fields})
                    form.add_field("file", wav_file(audio), filename="a.wav", content_type="audio/wav")
                    r = await client.post("/api/v1/ai/analyses", data=form, headers=auth)
                assert r.status == 200, await r.text()
                await r.read()

            rows = [
                ("transcription (%.1f s clip)" % clip16.duration_s, lambda: http("transcription", clip16),
                 lambda: engine.transcribe(clip16, timeout=T)),
                ("denoise rnnoise (%.1f s)" % clip48.duration_s, lambda: http("denoise", clip48, method="rnnoise"),
                 lambda: engine.denoise(clip48, method="rnnoise", timeout=T)),
                ("text sentiment (1 sentence)", lambda: http("text_sentiment"),
                 lambda: engine.text_sentiment([SENTENCES[2]], timeout=T)),
            ]
            print(f"## Analysis API overhead (median of {runs} warm calls; baseline: the engine call alone)")
            print("| call | API | engine | ratio |")
            print("|---|---|---|---|")
            for name, api_call, bare in rows:
                a, b = await timed(runs, api_call), await timed(runs, bare)
                print(f"| {name} | {a * 1000:.0f} ms | {b * 1000:.0f} ms | {a / b:.2f}x |")

            servicer = AnalysisServicer(services.analysis, services.users)
            async with ChannelFor([servicer], codec=CheckedProtoCodec()) as channel:
                stub = pb.AnalysisServiceStub(channel, metadata={"authorization": f"Bearer {token}"})

                async def chunks():  # type: ignore[no-untyped-def]
                    for i in range(0, len(clip16.samples), 3200):
                        yield pb.AudioChunk(pcm=clip16.samples[i:i + 3200], sample_rate=16_000)

                a = await timed(runs, lambda: stub.stream_transcribe(chunks()))
                b = await timed(runs, lambda: engine.transcribe(clip16, timeout=T))
                print(f"| gRPC StreamTranscribe (100 ms chunks, windows cut at pauses) | {a * 1000:.0f} ms | "
                      f"{b * 1000:.0f} ms (one call on the whole clip) | {a / b:.2f}x |")
        finally:
            await client.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    asyncio.run(main(parser.parse_args().runs))
