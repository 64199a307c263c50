"""A completed recording through the HTTP API: its WebM/Opus files analysed by reference (the analysis
service reads them from the recordings context), and its automatic transcript and emotion timeline
listed by meeting (the fake engine; tests/support/fake_inference.py)."""

from __future__ import annotations

import asyncio

import pytest

from domain.analysis.recording_analysis import analysis_id_for
from domain.recordings.media import RecordedFile
from domain.shared.ids import RecordingId, UserId
from tests.support.media_files import webm_opus
from tests.support.recording_fakes import FakeProcessor, FakeRoomRecorder, a_file
from tests.unit.web_support import API, WebApi, web_factory  # noqa: F401  (fixtures)

ANALYSES = f"{API}/ai/analyses"


class SpeakingRecorder(FakeRoomRecorder):
    """Writes each participant's file as the real recorder does: a WebM with Opus audio."""

    async def stop(self, recording_id: RecordingId) -> list[RecordedFile]:
        found = self.running.pop(recording_id, None)
        if found is None:
            return []
        files = []
        for n, user in enumerate(self.people):
            key, data = f"{found[1]}/{user}-1.webm", webm_opus(seconds=1.0 + n)
            await self.blobs.put(key, data, "video/webm")
            files.append(a_file(key, user, size=len(data)))
        return files


@pytest.fixture
async def web(web_factory, tmp_path):  # noqa: F811
    web = await web_factory(APP_RECORDINGS_DIR=str(tmp_path))
    service = web.services.recordings
    service.recorder, service.processor = SpeakingRecorder(service.blobs, people=[]), FakeProcessor(service.blobs)
    return web


async def recorded(web: WebApi):
    host, guest, outsider = await web.user(), await web.user(), await web.user()
    meeting = (await web.meeting(host))["id"]
    await web.join(host, meeting)
    await web.join(guest, meeting)
    web.services.recordings.recorder.people = [UserId(host.id), UserId(guest.id)]
    rec = await web.ok("POST", f"{API}/recordings", 201, who=host, json={"meeting_id": meeting})
    await web.ok("POST", f"{API}/recordings/{rec['id']}/stop", who=host)
    await web.services.recordings.drain()
    return (host, guest, outsider), meeting, await web.ok("GET", f"{API}/recordings/{rec['id']}", who=host)


async def test_a_recorded_file_is_analysed_by_reference_by_whom_both_contexts_allow(web):
    (host, guest, outsider), meeting, rec = await recorded(web)
    assert rec["state"] == "completed"
    guest_file = next(f for f in rec["files"] if f["user_id"] == guest.id)
    body = {"kind": "transcription", "recording_id": rec["id"], "file_key": guest_file["name"]}
    done = await web.ok("POST", ANALYSES, who=host, json=body)
    assert (done["meeting_id"], done["participant_id"], done["input"]["source"]) == (meeting, guest.id, "recording")
    assert done["result"]["text"] == "word0 word1"  # the fake engine: one word per started second of audio
    assert (await web.ok("POST", ANALYSES, who=guest, json=body))["status"] == "completed"
    refused = await web.call("POST", ANALYSES, who=outsider, json=body)
    assert (refused.status, refused.code) == (403, "analysis_not_allowed")
    missing = await web.call("POST", ANALYSES, who=host, json=body | {"file_key": "nope.webm"})
    assert (missing.status, missing.code) == (404, "recording_file_not_found")


async def test_a_recording_that_the_meeting_hides_from_its_guests_is_not_analysed_by_them(web):
    (host, guest, _), meeting, rec = await recorded(web)
    await web.ok("PUT", f"{API}/meetings/{meeting}", who=host, json={"settings": {"allow_recording": False}})
    body = {"kind": "transcription", "recording_id": rec["id"], "file_key": rec["files"][0]["name"]}
    refused = await web.call("POST", ANALYSES, who=guest, json=body)
    assert (refused.status, refused.code) == (403, "analysis_not_allowed")
    assert (await web.ok("POST", ANALYSES, who=host, json=body))["status"] == "completed"


async def test_a_completed_recording_gets_its_transcript_and_emotion_timeline_listed_by_meeting(web):
    (host, guest, outsider), meeting, rec = await recorded(web)
    analysis_id = analysis_id_for(RecordingId(rec["id"]))
    for _ in range(400):  # the event travels outbox -> relay -> feed; bounded, not timed
        listed = await web.ok("GET", f"{API}/ai/meetings/{meeting}/analyses", who=host)
        if listed["items"]:
            break
        await asyncio.sleep(0.01)
    await web.services.analysis.queue.join()
    done = await web.ok("GET", f"{ANALYSES}/{analysis_id}", who=guest)
    assert (done["status"], done["input"]["recording_id"], done["meeting_id"]) == ("completed", rec["id"], meeting)
    speakers = [(s["speaker"], s["start_s"]) for s in done["result"]["transcript"]]
    assert sorted(speakers) == sorted([(host.id, 0.0), (guest.id, 0.0), (guest.id, 1.0)])
    timeline = done["result"]["emotion_timeline"]
    assert timeline["label"] == "transcript-based emotion tagging" and len(timeline["items"]) == 3
    assert (await web.call("GET", f"{ANALYSES}/{analysis_id}", who=outsider)).status == 403
    assert rec["state"] == "completed"  # the recording itself is untouched by its analysis


async def test_automatic_analysis_can_be_turned_off(web_factory, tmp_path):  # noqa: F811
    from runners.ai_composition import with_recording_analysis

    web = await web_factory(APP_RECORDINGS_DIR=str(tmp_path), APP_AI_ANALYSE_RECORDINGS="false")
    feed = object()
    assert with_recording_analysis(feed, web.services.analysis, web.settings) is feed
