"""The issue's "done when", through the real engines: a user uploads a clip (espeak-ng speech with noise)
and gets a transcript, emotion tags and a denoised file back over HTTP, and live captions over gRPC;
once with the in-process engine (the all-in-one) and once served by the real Triton model server with
results in the MongoDB-wire server.  Quality bounds are on synthetic speech (README)."""

from __future__ import annotations

import contextlib
import io
import json
import wave

import aiohttp
import pytest
from grpclib.testing import ChannelFor

from confero_contracts.speech import SENTENCES, concat, espeak, silence, wer, with_noise
from adapters.pyav.decoding import wav_file
from domain.analysis.inference import PcmAudio
from proto.confero.analysis import v1 as pb
from runners.rpc.errors import CheckedProtoCodec
from runners.rpc.servicer import AnalysisServicer
from runners.serve import composed
from runners.web.app import create_app
from tests.support.triton import session_triton_urls
from tests.unit.web_support import API, WebApi, web_settings, with_mailbox

pytestmark = pytest.mark.integration
CLEAN_WER, NOISY_WER = 0.15, 0.35  # one espeak-ng sentence: clean, and white noise at 20 dB SNR


@pytest.fixture(params=["inprocess", "triton"])
async def real(request, aiohttp_client, mongo_server_url):
    env = {"APP_AI_SYNC_MAX_SECONDS": "60"}
    if request.param == "triton":
        env |= {"APP_TRITON_URLS": ",".join(session_triton_urls()), "APP_MONGO_URL": mongo_server_url,
                "APP_MONGO_DATABASE": "e2e_ai"}
    settings = web_settings(**env)
    async with contextlib.AsyncExitStack() as stack:
        container, services = await stack.enter_async_context(composed(settings))
        app = create_app(services, settings)
        yield await with_mailbox(WebApi(await aiohttp_client(app), app, settings, services), container)


async def submit(web: WebApi, who, kind: str, data: bytes, **fields: str) -> dict:
    form = aiohttp.FormData({"kind": kind, **fields})
    form.add_field("file", data, filename="clip.wav", content_type="audio/wav")
    async with web.client.post(f"{API}/ai/analyses", data=form, headers=who.auth) as resp:
        body = await resp.json()
        assert resp.status == 200, body
        return body


async def test_a_clip_comes_back_transcribed_tagged_and_denoised(real):
    me = await real.user()
    sentence = SENTENCES[0]
    noisy = with_noise(espeak(sentence), 20.0, seed=1)
    transcript = await submit(real, me, "transcription", wav_file(noisy))
    assert wer(sentence, transcript["result"]["text"]) < NOISY_WER, transcript["result"]["text"]
    assert transcript["model"] and transcript["model_version"] and transcript["result"]["segments"]

    clean = await submit(real, me, "transcription", wav_file(espeak(SENTENCES[1])))
    assert wer(SENTENCES[1], clean["result"]["text"]) < CLEAN_WER, clean["result"]["text"]

    emotions = await submit(real, me, "text_emotion", wav_file(noisy))
    assert emotions["label"] == "transcript-based emotion tagging"
    assert emotions["result"]["items"] and all(i["emotions"] for i in emotions["result"]["items"])

    denoised = await submit(real, me, "denoise", wav_file(noisy), method="rnnoise")
    async with real.client.get(denoised["output_url"], headers=me.auth) as resp:
        data = await resp.read()
        assert resp.status == 200 and resp.content_type == "audio/wav"
    with wave.open(io.BytesIO(data)) as w:
        assert w.getframerate() == 48_000 and abs(w.getnframes() / 48_000 - noisy.duration_s) < 0.1

    form = aiohttp.FormData({"kind": "synthetic_speech_risk"})
    form.add_field("file", wav_file(noisy), filename="clip.wav", content_type="audio/wav")
    async with real.client.post(f"{API}/ai/analyses", data=form, headers=me.auth) as resp:
        assert resp.status == 409 and (await resp.json())["error"]["code"] == "feature_not_offered"

    mine = await real.ok("GET", f"{API}/ai/analyses", who=me, params={"limit": "100"})
    assert mine["total"] == 5


async def test_live_captions_come_window_by_window_over_grpc(real):
    me = await real.user()
    speech = concat(espeak(SENTENCES[2]), silence(0.6), espeak(SENTENCES[3]))
    servicer = AnalysisServicer(real.services.analysis, real.services.users)

    async def chunks():
        step = 3200  # 100 ms
        for i in range(0, len(speech.samples), step):
            yield pb.AudioChunk(pcm=speech.samples[i:i + step], sample_rate=16_000)

    async with ChannelFor([servicer], codec=CheckedProtoCodec()) as channel:
        stub = pb.AnalysisServiceStub(channel, metadata={"authorization": f"Bearer {me.access}"})
        captions = [t async for t in stub.stream_captions(chunks())]
    assert len(captions) >= 2 and captions[0].window_start_s == 0.0
    said = " ".join(c.text for c in captions)
    assert wer(f"{SENTENCES[2]} {SENTENCES[3]}", said) < 0.35, said
    assert json.dumps([c.window_start_s for c in captions]) == json.dumps(sorted(c.window_start_s for c in captions))
