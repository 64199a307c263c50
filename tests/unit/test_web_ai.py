"""The AI routes in process: uploads, jobs, downloads and every kind of bad input as a JSON 4xx."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests.support.media_files import GARBAGE, ogg_opus, png, wav
from tests.unit.web_support import API, Caller, WebApi, web, web_factory  # noqa: F401  (fixtures)

ANALYSES = f"{API}/ai/analyses"


async def upload(web: WebApi, who: Caller, kind: str, data: bytes, *, filename: str = "clip.wav",
                 content_type: str = "audio/wav", **fields: str) -> tuple[int, dict]:
    form = aiohttp.FormData({"kind": kind, **fields})
    form.add_field("file", data, filename=filename, content_type=content_type)
    async with web.client.post(ANALYSES, data=form, headers=who.auth) as resp:
        return resp.status, await resp.json()


async def test_an_uploaded_clip_comes_back_transcribed_with_its_model_and_honest_label(web):
    me = await web.user()
    status, body = await upload(web, me, "transcription", ogg_opus(1.5), filename="clip.ogg",
                                content_type="audio/ogg")
    assert status == 200, body
    assert body["status"] == "completed" and body["result"]["text"] == "word0 word1"
    assert body["model"] == "fake-transcription" and body["label"] == "speech transcription"
    assert body["input"]["filename"] == "clip.ogg" and body["input"]["duration_s"] == pytest.approx(1.5, abs=0.1)
    again = await web.ok("GET", f"{ANALYSES}/{body['id']}", who=me)
    assert again["result"] == body["result"]


async def test_emotion_of_text_is_tagged_from_words_and_says_so(web):
    me = await web.user()
    body = await web.ok("POST", ANALYSES, who=me, json={"kind": "text_emotion", "texts": ["so glad", "so sad"]})
    assert body["label"] == "transcript-based emotion tagging" and "voice" in body["note"]
    assert [i["emotions"][0]["label"] for i in body["result"]["items"]] == ["joy", "sadness"]


async def test_a_denoised_file_is_downloaded_as_wav(web):
    me = await web.user()
    status, body = await upload(web, me, "denoise", wav(0.5), method="rnnoise")
    assert status == 200 and body["output_url"] == f"{ANALYSES}/{body['id']}/output"
    async with web.client.get(body["output_url"], headers=me.auth) as resp:
        assert resp.status == 200 and resp.content_type == "audio/wav"
        assert "attachment" in resp.headers["Content-Disposition"]
        assert (await resp.read()).startswith(b"RIFF")


async def test_an_enhanced_frame_is_downloaded_as_png(web):
    me = await web.user()
    status, body = await upload(web, me, "video_enhance", png(8, 8), filename="f.png", content_type="image/png",
                                operations="upscale2x,sharpen")
    assert status == 200 and body["result"]["width"] == 16, body
    async with web.client.get(body["output_url"], headers=me.auth) as resp:
        assert resp.content_type == "image/png" and (await resp.read()).startswith(b"\x89PNG")


async def test_a_long_clip_is_accepted_as_a_job_and_completes(web_factory):
    web = await web_factory(APP_AI_SYNC_MAX_SECONDS="1")
    me = await web.user()
    status, body = await upload(web, me, "transcription", wav(2.0, rate=16_000))
    assert status == 202 and body["status"] == "queued"
    await web.services.analysis.queue.join()
    done = await web.ok("GET", f"{ANALYSES}/{body['id']}", who=me)
    assert done["status"] == "completed" and done["run_s"] is not None
    mine = await web.ok("GET", ANALYSES, who=me)
    assert [a["id"] for a in mine["items"]] == [body["id"]] and mine["total"] == 1


@pytest.mark.parametrize(("data", "content_type", "reason"), [
    (b"", "audio/wav", "empty"),
    (GARBAGE, "audio/wav", "corrupt"),
    (b"RIFF\x10\x00\x00\x00WAVEfmt ", "audio/wav", "corrupt"),
    ("png", "image/png", "not_audio"),
    ("4khz", "audio/wav", "unsupported_rate"),
])
async def test_bad_audio_is_a_422_with_its_reason(web, data, content_type, reason):
    me = await web.user()
    data = {"png": png(), "4khz": wav(0.3, rate=4000)}.get(data, data) if isinstance(data, str) else data
    status, body = await upload(web, me, "transcription", data, content_type=content_type)
    assert (status, body["error"]["details"].get("reason")) == (422, reason), body


async def test_too_long_and_too_large_uploads_are_refused(web_factory):
    web = await web_factory(APP_AI_MAX_DURATION_SECONDS="1", APP_AI_MAX_UPLOAD_BYTES="60000")
    me = await web.user()
    status, body = await upload(web, me, "transcription", wav(1.5, rate=16_000))
    assert (status, body["error"]["details"]["reason"]) == (422, "too_long")
    status, body = await upload(web, me, "transcription", wav(3.0, rate=16_000))
    assert (status, body["error"]["details"]["reason"]) == (422, "too_large")


async def test_malformed_requests_are_4xx_not_500(web):
    me = await web.user()
    cases = [
        ({"kind": "deepfake_detection", "text": "x"}, 422),
        ({"kind": "text_sentiment"}, 422),
        ({"kind": "transcription", "text": "words are not audio"}, 422),
        ({"kind": "text_sentiment", "text": "a", "recording_id": "r", "file_key": "k"}, 422),
        ({"kind": "transcription", "recording_id": "nope", "file_key": "k"}, 404),
        ({"kind": "text_sentiment", "text": "a", "meeting_id": "not-an-id"}, 422),
        ({"kind": "text_sentiment", "text": "a", "meeting_id": "00000000-0000-4000-8000-000000000000"}, 404),
    ]
    for body, status in cases:
        reply = await web.call("POST", ANALYSES, who=me, json=body)
        assert reply.status == status, (body, reply.body)
    reply = await web.call("POST", ANALYSES, who=me, data=b"{not json", headers={"Content-Type": "application/json"})
    assert reply.status == 400
    form = aiohttp.FormData({"kind": "transcription"}, default_to_multipart=True)
    async with web.client.post(ANALYSES, data=form, headers=me.auth) as resp:
        assert resp.status == 422 and (await resp.json())["error"]["details"]["field"] == "file"
    form = aiohttp.FormData({"kind": "transcription", "surprise": "x"}, default_to_multipart=True)
    async with web.client.post(ANALYSES, data=form, headers=me.auth) as resp:
        assert resp.status == 422
    async with web.client.post(ANALYSES, data=b"--x\r\nbroken", headers={
            **me.auth, "Content-Type": "multipart/form-data; boundary=x"}) as resp:
        assert 400 <= resp.status < 500
    assert (await web.call("GET", f"{ANALYSES}/nope", who=me)).status == 404
    assert (await web.call("GET", f"{ANALYSES}/00000000-0000-4000-8000-000000000000", who=me)).code == \
        "analysis_not_found"


async def test_no_ready_inference_node_is_a_503_with_a_clear_body(web):
    me = await web.user()
    web.services.analysis.engine.ready = False
    reply = await web.call("POST", ANALYSES, who=me, json={"kind": "text_sentiment", "text": "hello"})
    assert reply.status == 503 and reply.code == "inference_unavailable"
    assert "no inference node is ready" in reply.body["error"]["message"]
    admin = await web.admin()
    nodes = await web.ok("GET", f"{API}/ai/nodes", who=admin)
    assert nodes["ready"] is False and nodes["items"][0]["error"]
    web.services.analysis.engine.ready = True
    assert (await web.call("POST", ANALYSES, who=me, json={"kind": "text_sentiment", "text": "hi"})).status == 200


async def test_models_list_names_and_versions(web):
    me = await web.user()
    models = await web.ok("GET", f"{API}/ai/models", who=me)
    by_task = {m["task"]: m for m in models["items"]}
    assert by_task["synthetic_speech_risk"]["label"].startswith("experimental") and by_task["denoise"]["version"]


async def test_a_user_who_submits_too_often_gets_429_with_retry_after(web_factory):
    web = await web_factory(APP_AI_SUBMISSIONS_PER_MINUTE="2")
    me = await web.user()
    for _ in range(2):
        await web.ok("POST", ANALYSES, who=me, json={"kind": "text_sentiment", "text": "x"})
    reply = await web.call("POST", ANALYSES, who=me, json={"kind": "text_sentiment", "text": "x"})
    assert reply.status == 429 and int(reply.headers["Retry-After"]) >= 1


async def test_a_host_turns_analysis_off_for_members(web):
    host, member = await web.user(), await web.user()
    meeting = (await web.meeting(host))["id"]
    await web.join(member, meeting)
    changed = await web.ok("PUT", f"{API}/meetings/{meeting}", who=host, json={"settings": {"allow_analysis": False}})
    assert changed["settings"]["allow_analysis"] is False
    body = {"kind": "text_sentiment", "text": "x", "meeting_id": meeting}
    assert (await web.call("POST", ANALYSES, who=member, json=body)).code == "analysis_not_allowed"
    assert (await web.call("POST", ANALYSES, who=host, json=body)).status == 200


async def test_concurrent_uploads_each_get_their_own_result(web):
    me = await web.user()
    results = await asyncio.gather(*(upload(web, me, "transcription", wav(0.5 + i * 0.5, rate=16_000))
                                     for i in range(4)))
    assert sorted(len(b["result"]["segments"]) for _, b in results) == [1, 1, 2, 2]


async def test_a_recorded_file_is_analysed_by_reference_for_the_meetings_members_only(web):
    from domain.shared.ids import RecordingId, UserId
    from ports.analysis import RecordingFileRef

    host, outsider = await web.user(), await web.user()
    meeting = (await web.meeting(host))["id"]
    ref = RecordingFileRef(recording_id=RecordingId("rec-1"), meeting_id=meeting, key="recordings/rec-1/host.webm",
                           user_id=UserId(host.id), media_type="audio/wav")
    from adapters.memory.recording_files import InMemoryRecordingFiles

    # A registered file (the composed recordings context's files: tests/unit/test_web_recording_analysis.py).
    web.services.analysis.recordings = InMemoryRecordingFiles()
    web.services.analysis.recordings.register(ref, wav(1.0, rate=16_000))
    body = {"kind": "transcription", "recording_id": "rec-1", "file_key": ref.key}
    done = await web.ok("POST", ANALYSES, who=host, json=body)
    assert (done["meeting_id"], done["participant_id"], done["input"]["source"]) == (meeting, host.id, "recording")
    assert (await web.call("POST", ANALYSES, who=outsider, json=body)).code == "analysis_not_allowed"
    listed = await web.ok("GET", f"{API}/ai/meetings/{meeting}/analyses", who=host)
    assert [a["id"] for a in listed["items"]] == [done["id"]]
