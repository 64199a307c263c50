"""AI analysis over HTTP: submit (a file upload, a recorded file or text), results, downloads, models, nodes."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from domain.analysis.commands import SubmitAnalysis
from domain.analysis.errors import InputTooLarge
from domain.analysis.inference import Task
from domain.analysis.model import InputSource
from domain.analysis.service import AnalysisService
from domain.shared.errors import PermissionDenied, Unavailable
from domain.shared.ids import AnalysisId, MeetingId, RecordingId, UserId, is_valid_id
from runners.web.ai_shapes import Analysis, AnalysisPage, AnalysisRequest, AnalysisUpload, AiModelList, \
    InferenceNodeList
from runners.web.context import SETTINGS, actor, services
from runners.web.errors import RequestError
from runners.web.replies import json_reply
from runners.web.routing import Endpoint
from runners.web.validation import PAGING, page_request, parse_body, path_id

TAG = "ai"
FIELD_LIMIT = 1024
UPLOAD_FIELDS = ("kind", "file", "meeting_id", "participant_id", "method", "operations", "prompt")


def analysis(request: web.Request) -> AnalysisService:
    found = services(request).analysis
    if found is None:
        raise Unavailable("this process does not serve AI analysis", backend="analysis")
    return found


async def submit(request: web.Request) -> web.Response:
    if request.content_type == "multipart/form-data":
        cmd = await _upload_command(request)
    else:
        cmd = _json_command(await parse_body(request, AnalysisRequest))
    job = await analysis(request).submit(actor(request), cmd)
    return json_reply(Analysis.of(job), status=202 if not job.status.finished else 200)


def _json_command(body: AnalysisRequest) -> SubmitAnalysis:
    options: dict[str, Any] = body.options.model_dump(exclude_none=True) if body.options else {}
    common = dict(kind=Task(body.kind), meeting_id=MeetingId(body.meeting_id) if body.meeting_id else None,
                  participant_id=UserId(body.participant_id) if body.participant_id else None, options=options)
    if body.recording_id or body.file_key:
        if body.text is not None or body.texts is not None:
            raise RequestError(422, "invalid_request", "send text or a recording reference, not both", field="text")
        return SubmitAnalysis(source=InputSource.RECORDING, recording_id=RecordingId(body.recording_id or ""),
                              file_key=body.file_key, **common)
    texts = tuple(body.texts or ()) + ((body.text,) if body.text is not None else ())
    if not texts:
        raise RequestError(422, "invalid_request", "send text, texts, or recording_id and file_key", field="text")
    return SubmitAnalysis(source=InputSource.TEXT, texts=texts, **common)


async def _upload_command(request: web.Request) -> SubmitAnalysis:
    settings = request.app[SETTINGS]
    fields: dict[str, str] = {}
    data: bytes | None = None
    filename, media_type = None, ""
    try:
        async with asyncio.timeout(settings.ai_upload_timeout):
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader) or part.name not in UPLOAD_FIELDS:
                    raise RequestError(422, "invalid_request", f"unknown form field {getattr(part, 'name', '?')!r}",
                                       field=str(getattr(part, "name", "")))
                if part.name == "file":
                    filename, media_type = part.filename, part.headers.get("Content-Type", "")
                    data = await _read_limited(part, settings.ai_max_upload_bytes)
                else:
                    raw = await _read_limited(part, FIELD_LIMIT, field=part.name)
                    try:
                        fields[part.name] = raw.decode("utf-8").strip()
                    except UnicodeDecodeError:
                        raise RequestError(422, "invalid_request", f"{part.name} is not UTF-8 text",
                                           field=part.name) from None
    except TimeoutError:
        raise RequestError(408, "body_timeout", "the upload did not arrive in time") from None
    except (ValueError, HttpProcessingError) as exc:  # aiohttp: a malformed multipart body
        raise RequestError(400, "malformed_multipart", f"the multipart body is malformed: {exc}") from None
    try:
        kind = Task(fields.get("kind", ""))
    except ValueError:
        raise RequestError(422, "invalid_request", "kind must be one of: " + ", ".join(t.value for t in Task),
                           field="kind") from None
    if data is None:
        raise RequestError(422, "invalid_request", "a file field is required", field="file")
    options: dict[str, Any] = {}
    if fields.get("method"):
        options["method"] = fields["method"]
    if fields.get("operations"):
        options["operations"] = [o.strip() for o in fields["operations"].split(",") if o.strip()]
    if fields.get("prompt"):
        options["prompt"] = fields["prompt"]
    return SubmitAnalysis(kind=kind, source=InputSource.UPLOAD, data=data, media_type=media_type,
                          filename=(filename or "")[:255] or None, options=options,
                          meeting_id=MeetingId(_form_id(fields, "meeting_id")) if fields.get("meeting_id") else None,
                          participant_id=UserId(_form_id(fields, "participant_id"))
                          if fields.get("participant_id") else None)


def _form_id(fields: dict[str, str], name: str) -> str:
    if not is_valid_id(fields[name]):
        raise RequestError(422, "invalid_request", f"{name} is not a valid id", field=name)
    return fields[name]


async def _read_limited(part: BodyPartReader, limit: int, field: str = "file") -> bytes:
    out = bytearray()
    while chunk := await part.read_chunk(64 * 1024):
        out += chunk
        if len(out) > limit:
            if field == "file":
                raise InputTooLarge(f"the file is larger than {limit} bytes", reason="too_large", limit=limit)
            raise RequestError(422, "invalid_request", f"{field} is too long", field=field)
    return bytes(out)


async def get(request: web.Request) -> web.Response:
    job = await analysis(request).get(actor(request), AnalysisId(path_id(request)))
    return json_reply(Analysis.of(job))


async def download(request: web.Request) -> web.Response:
    data, media_type, name = await analysis(request).output(actor(request), AnalysisId(path_id(request)))
    return web.Response(body=data, content_type=media_type,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})


async def list_mine(request: web.Request) -> web.Response:
    return json_reply(AnalysisPage.of(await analysis(request).list_mine(actor(request), page_request(request))))


async def list_for_meeting(request: web.Request) -> web.Response:
    found = await analysis(request).list_for_meeting(actor(request), MeetingId(path_id(request)),
                                                     page_request(request))
    return json_reply(AnalysisPage.of(found))


async def models(request: web.Request) -> web.Response:
    return json_reply(AiModelList.of(await analysis(request).models()))


async def nodes(request: web.Request) -> web.Response:
    if not actor(request).is_admin:
        raise PermissionDenied("inference nodes are shown to administrators", reason="admin_only")
    return json_reply(InferenceNodeList.of(await analysis(request).nodes()))


ROUTES = (
    Endpoint.post("/api/v1/ai/analyses", submit, tag=TAG, body=AnalysisRequest, upload=AnalysisUpload,
                  response=Analysis, also_ok=(202,), errors=(403, 404, 429, 503),
                  summary="Analyse a file, a recorded file or text: 200 with the result when short, 202 with a "
                          "queued job when long"),
    Endpoint.get("/api/v1/ai/analyses", list_mine, tag=TAG, response=AnalysisPage, query=PAGING,
                 summary="My analyses, newest first"),
    Endpoint.get("/api/v1/ai/analyses/{id}", get, tag=TAG, response=Analysis, errors=(403,),
                 summary="An analysis and its result (requester, the meeting's members, admins)"),
    Endpoint.get("/api/v1/ai/analyses/{id}/output", download, tag=TAG, binary=("audio/wav", "image/png"),
                 errors=(403,), summary="Download the denoised audio (WAV) or the enhanced frame (PNG)"),
    Endpoint.get("/api/v1/ai/meetings/{id}/analyses", list_for_meeting, tag=TAG, response=AnalysisPage,
                 query=PAGING, errors=(403,), summary="A meeting's analyses, newest first (its members)"),
    Endpoint.get("/api/v1/ai/models", models, tag=TAG, response=AiModelList, errors=(503,),
                 summary="Models and their versions"),
    Endpoint.get("/api/v1/ai/nodes", nodes, tag=TAG, response=InferenceNodeList, errors=(403,),
                 summary="Inference nodes and their health (admin)"),
)
