"""Recording routes: start, stop, read, list, delete, and the app-signed download links (served here
with HTTP range support for blob stores that cannot sign their own links)."""

from __future__ import annotations

import re

from aiohttp import web

from domain.recordings.service import RecordingService
from domain.shared.errors import Unavailable
from domain.shared.ids import MeetingId, RecordingId
from runners.app_state import REQUEST_ID, error_response
from runners.web.context import actor, services
from runners.web.errors import RequestError
from runners.web.recording_shapes import Recording, RecordingList, StartRecordingRequest
from runners.web.replies import json_reply
from runners.web.routing import Endpoint, QueryParam
from runners.web.validation import parse_body, path_id

TAG = "recordings"
CHUNK = 1024 * 1024
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def _service(request: web.Request) -> RecordingService:
    found = services(request).recordings
    if found is None:
        raise Unavailable("recording is not configured in this process")
    return found


async def start(request: web.Request) -> web.Response:
    body = await parse_body(request, StartRecordingRequest)
    recording = await _service(request).start(actor(request), MeetingId(body.meeting_id))
    return json_reply(Recording.of(recording), status=201)


async def stop(request: web.Request) -> web.Response:
    recording = await _service(request).stop(actor(request), RecordingId(path_id(request)))
    return json_reply(Recording.of(recording))


async def get(request: web.Request) -> web.Response:
    details = await _service(request).get(actor(request), RecordingId(path_id(request)))
    return json_reply(Recording.with_links(details))


async def list_for_meeting(request: web.Request) -> web.Response:
    meeting_id = MeetingId(path_id(request))
    found = await _service(request).list_for_meeting(actor(request), meeting_id)
    return json_reply(RecordingList.make(meeting_id=meeting_id, items=[Recording.of(r) for r in found]))


async def delete(request: web.Request) -> web.Response:
    await _service(request).delete(actor(request), RecordingId(path_id(request)))
    return web.Response(status=204)


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """[start, end) of a single ``Range: bytes=...`` request; None serves the whole file (no header, or a
    form we do not serve, such as several ranges); RequestError 416 when it lies outside the file."""
    if not header:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":
        start, end = max(0, size - int(last)), size
    else:
        start, end = int(first), size if last == "" else min(size, int(last) + 1)
    if start >= size or start >= end:
        raise RequestError(416, "range_not_satisfiable", "the range lies outside the file", size=size)
    return start, end


async def download(request: web.Request) -> web.StreamResponse:
    q = request.query
    try:
        key, name, expires, signature = q["key"], q["name"], int(q["expires"]), q["signature"]
    except (KeyError, ValueError):
        raise RequestError(403, "download_link_invalid", "this download link is not valid") from None
    service = _service(request)
    info = await service.open_download(key, name, expires, signature)
    try:
        wanted = _byte_range(request.headers.get("Range"), info.size)
    except RequestError as err:
        return error_response(416, err.code, err.message, request.get(REQUEST_ID), err.details,
                              headers={"Content-Range": f"bytes */{info.size}"})
    start, end = wanted or (0, info.size)
    reply = web.StreamResponse(status=206 if wanted else 200, headers={
        "Accept-Ranges": "bytes", "Content-Type": info.content_type or "application/octet-stream",
        "Content-Disposition": f'attachment; filename="{name}"', "ETag": f'"{info.etag}"',
        "Cache-Control": "private, no-store"})
    reply.content_length = end - start
    if wanted:
        reply.headers["Content-Range"] = f"bytes {start}-{end - 1}/{info.size}"
    await reply.prepare(request)
    if request.method != "HEAD":
        at = start
        while at < end:
            chunk = await service.read(key, at, min(end, at + CHUNK))
            if not chunk:
                break
            await reply.write(chunk)
            at += len(chunk)
    await reply.write_eof()
    return reply


_LINK = tuple(QueryParam(name=n, schema={"type": "string"}, description=d) for n, d in (
    ("key", "the file"), ("name", "its download name"), ("expires", "the link's expiry (Unix seconds)"),
    ("signature", "HMAC of the other parameters")))

ROUTES = (
    Endpoint.post("/api/v1/recordings", start,
                  summary="Start recording a live meeting (host, co-hosts, admins); everyone in the room is told",
                  tag=TAG, body=StartRecordingRequest, status=201, response=Recording,
                  errors=(400, 401, 403, 404, 409, 413, 415, 422, 503)),
    Endpoint.post("/api/v1/recordings/{id}/stop", stop,
                  summary="Stop a recording (host, co-hosts, admins); its files are processed afterwards",
                  tag=TAG, response=Recording, errors=(401, 403, 404, 409, 503)),
    Endpoint.get("/api/v1/recordings/{id}", get,
                 summary="A recording: state, progress, files with sizes, durations and expiring download links",
                 tag=TAG, response=Recording, errors=(401, 403, 404, 503)),
    Endpoint.delete("/api/v1/recordings/{id}", delete,
                    summary="Delete an ended recording and its files (host, co-hosts, admins)", tag=TAG,
                    status=204, errors=(401, 403, 404, 409, 503)),
    Endpoint.get("/api/v1/meetings/{id}/recordings", list_for_meeting,
                 summary="A meeting's recordings, newest first (host, co-hosts, admins; participants when "
                         "the meeting allows recording)", tag=TAG, response=RecordingList,
                 errors=(401, 403, 404, 503)),
    Endpoint.get("/api/v1/recording-files", download,
                 summary="Download a recorded file through a signed, expiring link (HTTP ranges supported)",
                 tag=TAG, auth=False, query=_LINK, response=None, errors=(403, 404, 416, 503)),
)
