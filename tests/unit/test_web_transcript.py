"""GET /api/v1/meetings/{id}/transcript in process: the final captions as JSON, WebVTT and SRT, in
meeting time, during and after the meeting; clear 400s; and a recording's transcript link (the span
of the recording, timed from its start)."""

from __future__ import annotations

import asyncio
import datetime as dt
import urllib.parse

from domain.captions.formats import clock, offset_ms
from domain.captions.model import Caption
from domain.shared.ids import MeetingId, UserId, new_id
from tests.unit.test_web_recordings import with_fakes
from tests.unit.web_support import API, Caller, WebApi, web, web_factory  # noqa: F401  (fixtures)


def when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


async def captioned_meeting(web: WebApi) -> tuple[Caller, Caller, str, dt.datetime]:
    host, guest = await web.user("ann"), await web.user("bob")
    mid = (await web.meeting(host))["id"]
    await web.join(host, mid)
    await web.join(guest, mid)
    await web.ok("POST", f"{API}/meetings/{mid}/captions/on", who=host)
    started = when((await web.get_meeting(host, mid))["started_at"])
    return host, guest, mid, started


async def say(web: WebApi, mid: str, who: Caller, at: dt.datetime, seconds: float, text: str,
              final: bool = True) -> None:
    captions = web.services.captions
    assert captions is not None
    await captions.heard(Caption(id=new_id(), meeting_id=MeetingId(mid), speaker_id=UserId(who.id), text=text,
                                 final=final, start_at=at, end_at=at + dt.timedelta(seconds=seconds)))


async def test_the_transcript_in_json_vtt_and_srt(web: WebApi) -> None:
    host, guest, mid, t0 = await captioned_meeting(web)
    await say(web, mid, host, t0 + dt.timedelta(seconds=1.5), 2, "Welcome, everyone.")
    await say(web, mid, guest, t0 + dt.timedelta(seconds=4), 1.25, "Thanks, Ann", final=False)
    await say(web, mid, guest, t0 + dt.timedelta(seconds=4), 1.5, "Thanks, Ann!")

    body = await web.ok("GET", f"{API}/meetings/{mid}/transcript", who=guest)
    assert body["meeting_id"] == mid and body["to"] is None
    assert when(body["origin"]) == t0.replace(microsecond=t0.microsecond // 1000 * 1000)  # as the store keeps times
    assert [(i["display_name"], i["text"], i["start_s"], i["end_s"]) for i in body["items"]] == [
        ("ann", "Welcome, everyone.", 1.5, 3.5), ("bob", "Thanks, Ann!", 4.0, 5.5)]
    assert body == await web.ok("GET", f"{API}/meetings/{mid}/transcript", who=host, params={"format": "json"})

    vtt = await web.call("GET", f"{API}/meetings/{mid}/transcript", who=host, params={"format": "vtt"})
    assert vtt.status == 200 and vtt.headers["Content-Type"] == "text/vtt; charset=utf-8"
    assert vtt.body.startswith("WEBVTT\n\n")
    assert "00:00:01.500 --> 00:00:03.500\n<v ann>Welcome, everyone.\n" in vtt.body
    assert "00:00:04.000 --> 00:00:05.500\n<v bob>Thanks, Ann!\n" in vtt.body

    srt = await web.call("GET", f"{API}/meetings/{mid}/transcript", who=host, params={"format": "srt"})
    assert srt.status == 200 and srt.headers["Content-Type"] == "application/x-subrip; charset=utf-8"
    assert srt.body == ("1\n00:00:01,500 --> 00:00:03,500\nann: Welcome, everyone.\n\n"
                        "2\n00:00:04,000 --> 00:00:05,500\nbob: Thanks, Ann!\n")
    assert f'filename="transcript-{mid}.srt"' in srt.headers["Content-Disposition"]


async def test_the_transcript_outlives_the_meeting(web: WebApi) -> None:
    host, guest, mid, t0 = await captioned_meeting(web)
    await say(web, mid, guest, t0 + dt.timedelta(seconds=2), 1, "Bye.")
    await web.ok("POST", f"{API}/meetings/{mid}/end", who=host)
    assert (await web.get_meeting(host, mid))["captions_on"] is False
    body = await web.ok("GET", f"{API}/meetings/{mid}/transcript", who=guest)
    assert [i["text"] for i in body["items"]] == ["Bye."]
    await say(web, mid, guest, t0 + dt.timedelta(seconds=9), 1, "too late")  # dropped: the meeting ended
    assert len((await web.ok("GET", f"{API}/meetings/{mid}/transcript", who=guest))["items"]) == 1


async def test_bad_requests_are_clear_400s(web: WebApi) -> None:
    host, _, mid, _ = await captioned_meeting(web)
    for params, field in (({"format": "docx"}, "format"), ({"from": "yesterday"}, "from"),
                          ({"to": "2030-01-01T00:00:00"}, "to"),  # no zone
                          ({"from": "2030-01-02T00:00:00Z", "to": "2030-01-01T00:00:00Z"}, "to")):
        bad = await web.call("GET", f"{API}/meetings/{mid}/transcript", who=host, params=params)
        assert (bad.status, bad.code) == (400, "bad_request"), params
        assert bad.body["error"]["details"]["field"] == field
    missing = await web.call("GET", f"{API}/meetings/{new_id()}/transcript", who=host)
    assert (missing.status, missing.code) == (404, "meeting_not_found")


async def test_a_recording_links_the_transcript_of_its_span_timed_from_its_start(web: WebApi) -> None:
    with_fakes(web)
    host, guest, mid, t0 = await captioned_meeting(web)
    rec = await web.ok("POST", f"{API}/recordings", 201, who=host, json={"meeting_id": mid})
    await web.services.recordings.drain()
    rec = await web.ok("GET", f"{API}/recordings/{rec['id']}", who=guest)
    running = urllib.parse.urlsplit(rec["transcript_url"])
    assert running.path == f"{API}/meetings/{mid}/transcript" and "to" not in urllib.parse.parse_qs(running.query)
    await asyncio.sleep(0.05)  # the recording spans some time (no assertion on how long)
    await web.ok("POST", f"{API}/recordings/{rec['id']}/stop", who=host)
    await web.services.recordings.drain()
    done = await web.ok("GET", f"{API}/recordings/{rec['id']}", who=guest)
    started, stopped = when(done["started_at"]), when(done["stopped_at"])
    middle = started + (stopped - started) / 2
    await say(web, mid, host, started - dt.timedelta(seconds=30), 1, "before the recording")
    await say(web, mid, guest, middle, 1.5, "during the recording")
    await say(web, mid, host, stopped + dt.timedelta(seconds=1), 1, "after the recording")

    link = urllib.parse.urlsplit(done["transcript_url"])
    query = urllib.parse.parse_qs(link.query)
    assert query["format"] == ["vtt"] and when(query["from"][0]) == started and when(query["to"][0]) == stopped
    vtt = await web.call("GET", f"{link.path}?{link.query}", who=guest)
    assert vtt.status == 200 and vtt.headers["Content-Type"] == "text/vtt; charset=utf-8"
    [cue] = [block for block in vtt.body.split("\n\n")[1:] if block]
    _, times, line = cue.splitlines()
    offset = offset_ms(as_stored(middle), as_stored(started))  # from the recording's start
    assert times == f"{clock(offset, '.')} --> {clock(offset + 1500, '.')}"
    assert line == "<v bob>during the recording"


def as_stored(at: dt.datetime) -> dt.datetime:
    return at.replace(microsecond=at.microsecond // 1000 * 1000)
