"""The recording routes in process: clear 4xx for every refusal, and the app-signed download links
(ranges, expiry, tampering)."""

from __future__ import annotations

import asyncio
import datetime as dt
import urllib.parse

import pytest

from adapters.memory.blobs import InMemoryBlobStore
from tests.support.recording_fakes import FakeProcessor, FakeRoomRecorder
from tests.unit.web_support import API, WebApi, web, web_factory  # noqa: F401  (fixtures)


def with_fakes(web: WebApi) -> None:
    service = web.services.recordings
    service.blobs = InMemoryBlobStore()
    service.recorder = FakeRoomRecorder(service.blobs)
    service.processor = FakeProcessor(service.blobs)


async def live_meeting(web: WebApi, **fields):
    host = await web.user()
    meeting = (await web.meeting(host, **fields))["id"]
    await web.join(host, meeting)
    return host, meeting


async def completed(web: WebApi):
    host, meeting = await live_meeting(web)
    rec = await web.ok("POST", f"{API}/recordings", 201, who=host, json={"meeting_id": meeting})
    await web.ok("POST", f"{API}/recordings/{rec['id']}/stop", who=host)
    await web.services.recordings.drain()
    return host, meeting, await web.ok("GET", f"{API}/recordings/{rec['id']}", who=host)


async def test_a_recorder_that_cannot_start_refuses_with_503_and_leaves_a_failed_recording(web):
    from runners.recording import UnconfiguredRecorder

    web.services.recordings.recorder = UnconfiguredRecorder()  # refuses with Unavailable, as an unreachable store does
    host, meeting = await live_meeting(web)
    reply = await web.call("POST", f"{API}/recordings", who=host, json={"meeting_id": meeting})
    assert (reply.status, reply.code) == (503, "unavailable") and "recorder not configured" in reply.body["error"]["message"]
    [failed] = (await web.ok("GET", f"{API}/meetings/{meeting}/recordings", who=host))["items"]
    assert failed["state"] == "failed" and "recorder not configured" in failed["failure_reason"]


async def test_a_recording_runs_stops_and_completes_with_its_files(web):
    with_fakes(web)
    host, meeting, rec = await completed(web)
    assert rec["state"] == "completed" and rec["progress"] == 1.0
    assert [f["kind"] for f in rec["files"]] == ["participant", "participant", "meeting"]
    assert all(f["download_url"].startswith("/api/v1/recording-files?") and f["download_expires_at"]
               for f in rec["files"])
    listed = await web.ok("GET", f"{API}/meetings/{meeting}/recordings", who=host)
    assert [r["id"] for r in listed["items"]] == [rec["id"]] and "download_url" not in listed["items"][0]["files"][0]


@pytest.mark.parametrize("body, status, code", [
    ({}, 422, "invalid_request"), ({"meeting_id": "nope"}, 422, "invalid_request"),
    ({"meeting_id": "00000000-0000-4000-8000-000000000000"}, 404, "meeting_not_found")])
async def test_bad_starts_get_clear_errors(web, body, status, code):
    with_fakes(web)
    host, _ = await live_meeting(web)
    reply = await web.call("POST", f"{API}/recordings", who=host, json=body)
    assert (reply.status, reply.code) == (status, code), reply.body


async def test_refusals_by_state(web):
    with_fakes(web)
    host = await web.user()
    scheduled = (await web.meeting(host))["id"]
    reply = await web.call("POST", f"{API}/recordings", who=host, json={"meeting_id": scheduled})
    assert (reply.status, reply.code) == (409, "meeting_not_live")
    host, meeting = await live_meeting(web)
    rec = await web.ok("POST", f"{API}/recordings", 201, who=host, json={"meeting_id": meeting})
    again = await web.call("POST", f"{API}/recordings", who=host, json={"meeting_id": meeting})
    assert (again.status, again.code) == (409, "recording_conflict")
    early = await web.call("DELETE", f"{API}/recordings/{rec['id']}", who=host)
    assert (early.status, early.code) == (409, "recording_still_active")
    await web.ok("POST", f"{API}/recordings/{rec['id']}/stop", who=host)
    twice = await web.call("POST", f"{API}/recordings/{rec['id']}/stop", who=host)
    assert (twice.status, twice.code) == (409, "recording_not_active")
    await web.services.recordings.drain()
    await web.ok("DELETE", f"{API}/recordings/{rec['id']}", 204, who=host)
    gone = await web.call("GET", f"{API}/recordings/{rec['id']}", who=host)
    assert (gone.status, gone.code) == (404, "recording_not_found")


async def test_a_meeting_that_does_not_allow_recording_says_so(web):
    with_fakes(web)
    host, meeting = await live_meeting(web, settings={"allow_recording": False})
    reply = await web.call("POST", f"{API}/recordings", who=host, json={"meeting_id": meeting})
    assert (reply.status, reply.code) == (409, "recording_not_allowed")


async def test_ending_the_meeting_stops_the_recording(web):
    with_fakes(web)
    host, meeting = await live_meeting(web)
    rec = await web.ok("POST", f"{API}/recordings", 201, who=host, json={"meeting_id": meeting})
    await web.ok("POST", f"{API}/meetings/{meeting}/end", who=host)
    for _ in range(200):
        got = await web.ok("GET", f"{API}/recordings/{rec['id']}", who=host)
        if got["state"] == "completed":
            break
        await web.services.recordings.drain()
        await asyncio.sleep(0.01)  # the event reaches the recording service through the outbox relay
    assert got["state"] == "completed" and got["stopped_by"] is None


async def _download(web: WebApi, link: str, **headers: str):
    return await web.call("GET", link, headers=headers)


async def test_a_signed_link_serves_the_file_with_ranges(web):
    with_fakes(web)
    _, _, rec = await completed(web)
    link = rec["files"][0]["download_url"]
    whole = await _download(web, link)
    assert whole.status == 200 and whole.body.startswith("webm-") and whole.headers["Accept-Ranges"] == "bytes"
    assert 'attachment; filename="' in whole.headers["Content-Disposition"]
    part = await _download(web, link, Range="bytes=1-3")
    assert part.status == 206 and part.body == whole.body[1:4]
    assert part.headers["Content-Range"] == f"bytes 1-3/{len(whole.body)}"
    tail = await _download(web, link, Range="bytes=-2")
    assert tail.status == 206 and tail.body == whole.body[-2:]
    outside = await _download(web, link, Range="bytes=9999-")
    assert outside.status == 416 and outside.headers["Content-Range"] == f"bytes */{len(whole.body)}"


def _tamper(link: str, **changes: str) -> str:
    parts = urllib.parse.urlsplit(link)
    query = dict(urllib.parse.parse_qsl(parts.query)) | changes
    return f"{parts.path}?{urllib.parse.urlencode(query)}"


async def test_tampered_and_expired_links_are_refused(web):
    with_fakes(web)
    _, meeting, rec = await completed(web)
    link = rec["files"][0]["download_url"]
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(link).query))
    other_key = rec["files"][1]["download_url"]
    for bad in (_tamper(link, key=dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(other_key).query))["key"]),
                _tamper(link, expires=str(int(query["expires"]) + 3600)), _tamper(link, signature="x" * 43),
                _tamper(link, expires="soon"), f"{API}/recording-files"):
        reply = await _download(web, bad)
        assert (reply.status, reply.code) == (403, "download_link_invalid"), bad
    web.services.recordings.clock = _Later(dt.timedelta(seconds=web.settings.recording_link_ttl + 1))
    expired = await _download(web, link)
    assert (expired.status, expired.code) == (403, "download_link_invalid")
    assert "expired" in expired.body["error"]["message"]


class _Later:
    def __init__(self, by: dt.timedelta) -> None:
        self.by = by

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc) + self.by
