"""Builds the OpenAPI 3.1 document from the endpoints and the JSON Schemas of their models."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from runners.shapes import components
from runners.web.replies import UNIONS, Error
from runners.web.routing import Endpoint

STATUS_TEXT = {101: "Switching to the WebSocket protocol", 200: "OK", 201: "Created", 202: "Accepted: running as a job",
               204: "No content",
               400: "Malformed request", 401: "Missing, invalid, expired or revoked access token",
               403: "Not allowed", 404: "No such resource (or a malformed id)", 405: "Method not allowed",
               408: "The body did not arrive within APP_HTTP_BODY_TIMEOUT",
               409: "Conflicts with the current state", 413: "Body too large", 415: "Body is not JSON",
               422: "Body or parameters break the rules", 429: "Too many attempts (see Retry-After)",
               416: "The range lies outside the file", 503: "A backing service is unavailable"}
# A self-authenticating endpoint never answers 401 for a missing token, only for one it was sent and refused.
REFUSED_TOKEN = "An Authorization header was sent and its token was refused (without one, authenticate in-band)"
PATH_PARAM = re.compile(r"{(\w+)}")
REF = "#/components/schemas/{model}"


def ref(target: type[BaseModel] | str) -> dict[str, str]:
    return {"$ref": REF.format(model=target if isinstance(target, str) else target.__name__)}


def _operation(e: Endpoint) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": f"{e.tag}_{e.handler.__name__}", "summary": e.summary, "tags": [e.tag]}
    params = [{"name": p, "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
              for p in PATH_PARAM.findall(e.path)]
    params += [{"name": q.name, "in": "query", "required": False, "schema": q.schema,
                **({"description": q.description} if q.description else {})} for q in e.query]
    if params:
        op["parameters"] = params
    if e.body:
        op["requestBody"] = {"required": e.body_required, "content": {"application/json": {"schema": ref(e.body)}}}
        if e.upload:
            op["requestBody"]["content"]["multipart/form-data"] = {"schema": ref(e.upload)}
    ok: dict[str, Any] = {"description": STATUS_TEXT.get(e.status, "OK")}
    if e.response:
        ok["content"] = {"application/json": {"schema": ref(e.response)}}
    if e.binary:
        ok["content"] = {**ok.get("content", {}),
                         **{media: {"schema": {"type": "string", "format": "binary"}} for media in e.binary}}
    responses = {str(e.status): ok}
    for status in e.also_ok:
        responses[str(status)] = {**ok, "description": STATUS_TEXT.get(status, "OK")}
    always = {503} if e.auth or e.self_authenticating or e.body else set()
    if e.body:
        always |= {400, 408, 413, 415, 422}
    if e.auth:
        always.add(401)
    if PATH_PARAM.search(e.path):
        always.add(404)
    if e.query:
        always.add(422)
    for status in sorted({*e.errors, *always}):
        text = REFUSED_TOKEN if status == 401 and e.self_authenticating else STATUS_TEXT[status]
        responses[str(status)] = {"description": text, "content": {"application/json": {"schema": ref(Error)}}}
    op["responses"] = responses
    if e.auth:
        op["security"] = [{"bearer": []}]
    elif e.self_authenticating:
        op["security"] = [{}, {"bearer": []}]  # the header is optional
    else:
        op["security"] = []
    return op


def models_of(endpoints: Iterable[Endpoint]) -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {"Error": Error}
    for e in endpoints:
        for model in (e.body, e.response, e.upload):
            if isinstance(model, type):
                found[model.__name__] = model
            elif isinstance(model, str):
                found |= {m.__name__: m for m in UNIONS[model][1]}
    return list(found.values())


def build_document(endpoints: Iterable[Endpoint], version: str = "0.1.0") -> dict[str, Any]:
    endpoints = list(endpoints)
    paths: dict[str, dict[str, Any]] = {}
    for e in endpoints:
        paths.setdefault(e.path, {})[e.method.lower()] = _operation(e)
    schemas = components(models_of(endpoints), REF)
    used_unions = {name for e in endpoints if isinstance(e.response, str) for name in [e.response]}
    schemas |= {name: UNIONS[name][0] for name in sorted(used_unions)}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Confero API", "version": version,
                 "description": "Users, sessions and meetings of the Confero video-conferencing backend. "
                                "Errors are JSON: {\"error\": {\"code\", \"message\", \"details\", \"request_id\"}}."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
    }
