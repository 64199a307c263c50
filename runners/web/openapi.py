"""Builds the OpenAPI 3.1 document from the route table and the JSON Schemas."""

from __future__ import annotations

import re
from typing import Any

from runners.web.routing import RouteTable
from runners.web.schemas import SCHEMAS, ref

STATUS_TEXT = {101: "Switching to the WebSocket protocol", 200: "OK", 201: "Created", 204: "No content", 400: "Malformed request",
               401: "Missing, invalid, expired or revoked access token", 403: "Not allowed",
               404: "No such resource (or a malformed id)", 405: "Method not allowed",
               409: "Conflicts with the current state", 413: "Body too large", 415: "Body is not JSON",
               422: "Body or parameters break the rules", 429: "Too many attempts (see Retry-After)",
               503: "A backing service is unavailable"}
PATH_PARAM = re.compile(r"{(\w+)}")


def _operation(e: Any) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": f"{e.tag}_{e.handler.__name__}",
                          "summary": e.summary, "tags": [e.tag]}
    params = [{"name": p, "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
              for p in PATH_PARAM.findall(e.path)]
    params += [{"name": q.name, "in": "query", "required": False, "schema": q.schema,
                **({"description": q.description} if q.description else {})} for q in e.query]
    if params:
        op["parameters"] = params
    if e.body:
        op["requestBody"] = {"required": e.body_required,
                             "content": {"application/json": {"schema": ref(e.body)}}}
    ok: dict[str, Any] = {"description": STATUS_TEXT.get(e.status, "OK")}
    if e.response:
        ok["content"] = {"application/json": {"schema": ref(e.response)}}
    responses = {str(e.status): ok}
    always = {503} if e.documented_auth or e.body else set()
    if e.body:
        always |= {400, 413, 415, 422}
    if e.documented_auth:
        always.add(401)
    if PATH_PARAM.search(e.path):
        always.add(404)
    if e.query:
        always.add(422)
    for status in sorted({*e.errors, *always}):
        responses[str(status)] = {"description": STATUS_TEXT[status],
                                  "content": {"application/json": {"schema": ref("Error")}}}
    op["responses"] = responses
    if e.documented_auth:
        op["security"] = [{"bearer": []}]
    else:
        op["security"] = []
    return op


def build_document(table: RouteTable, version: str = "0.1.0") -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for e in table.endpoints:
        paths.setdefault(e.path, {})[e.method.lower()] = _operation(e)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Confero API", "version": version,
                 "description": "Users, sessions and meetings of the Confero video-conferencing backend. "
                                "Errors are JSON: {\"error\": {\"code\", \"message\", \"details\", \"request_id\"}}."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": SCHEMAS,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
    }
