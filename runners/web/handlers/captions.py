"""A meeting's transcript: its final captions as JSON, WebVTT or SRT, for the meeting's members, during
and after the meeting.  ``from``/``to`` cut a span (a recording's: its reply links here), and times
are then counted from ``from``, so the subtitles line up with the recording's file."""

from __future__ import annotations

import datetime as dt
import enum

from aiohttp import web

from domain.captions.formats import offset_ms, to_srt, to_vtt
from domain.captions.service import CaptionService, Transcript
from domain.shared.errors import Unavailable
from domain.shared.ids import MeetingId
from runners.shapes import Id, NullableStamp, Stamp, _parse_time
from runners.web.context import actor, services
from runners.web.errors import RequestError
from runners.web.replies import Reply, json_reply
from runners.web.routing import Endpoint, QueryParam
from runners.web.validation import path_id

TAG = "captions"
VTT = "text/vtt"
SRT = "application/x-subrip"


class Format(enum.Enum):
    JSON = "json"
    VTT = "vtt"
    SRT = "srt"


class TranscriptLine(Reply):
    id: str
    speaker_id: Id
    display_name: str
    text: str
    start_s: float
    end_s: float
    start_at: Stamp
    end_at: Stamp


class TranscriptReply(Reply):
    meeting_id: Id
    origin: Stamp
    to: NullableStamp
    items: list[TranscriptLine]

    @classmethod
    def of(cls, t: Transcript) -> TranscriptReply:
        return cls.make(meeting_id=t.meeting_id, origin=t.origin, to=t.until, items=[
            TranscriptLine.make(id=c.id, speaker_id=c.speaker_id, display_name=t.names.get(c.speaker_id, ""),
                                text=c.text, start_s=offset_ms(c.start_at, t.origin) / 1000,
                                end_s=max(offset_ms(c.start_at, t.origin), offset_ms(c.end_at, t.origin)) / 1000,
                                start_at=c.start_at, end_at=c.end_at)
            for c in t.captions])




def _service(request: web.Request) -> CaptionService:
    found = services(request).captions
    if found is None:
        raise Unavailable("captions are not configured on this server")
    return found


def _format(request: web.Request) -> Format:
    raw = request.query.get("format", Format.JSON.value)
    try:
        return Format(raw)
    except ValueError:
        raise RequestError(400, "bad_request", "format must be one of: json, vtt, srt", field="format") from None


def _time(request: web.Request, name: str) -> dt.datetime | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        return _parse_time(raw)
    except ValueError as err:
        raise RequestError(400, "bad_request", f"{name} must be an ISO 8601 time with a zone ({err})",
                           field=name) from None


async def transcript(request: web.Request) -> web.StreamResponse:
    meeting_id = MeetingId(path_id(request))
    kind = _format(request)
    since, until = _time(request, "from"), _time(request, "to")
    if since is not None and until is not None and until < since:
        raise RequestError(400, "bad_request", "to must not be before from", field="to")
    found = await _service(request).transcript(actor(request), meeting_id, since=since, until=until)
    if kind is Format.JSON:
        return json_reply(TranscriptReply.of(found))
    render, media, ext = (to_vtt, VTT, "vtt") if kind is Format.VTT else (to_srt, SRT, "srt")
    return web.Response(text=render(found.captions, found.names, found.origin), content_type=media,
                        charset="utf-8", headers={
                            "Content-Disposition": f'inline; filename="transcript-{meeting_id}.{ext}"',
                            "Cache-Control": "private, no-store"})


ROUTES = (
    Endpoint.get("/api/v1/meetings/{id}/transcript", transcript,
                 summary="A meeting's transcript (its final live captions) as JSON, WebVTT or SRT: for the host, "
                         "co-hosts, the people who attended and administrators, during and after the meeting",
                 tag=TAG, response=TranscriptReply, binary=(VTT, SRT), errors=(400, 401, 403, 404, 503), query=(
                     QueryParam(name="format", schema={"type": "string", "enum": [f.value for f in Format],
                                                       "default": "json"}),
                     QueryParam(name="from", schema={"type": "string", "format": "date-time"},
                                description="only captions starting at or after this time; offsets count from it"),
                     QueryParam(name="to", schema={"type": "string", "format": "date-time"},
                                description="only captions starting before this time"))),
)
