"""Request parsing: JSON bodies into their models (runners/web/bodies.py), ids and paging."""

from __future__ import annotations

import asyncio
import json
from functools import lru_cache
from typing import Any, TypeVar

from aiohttp import web
from jsonschema import Draft202012Validator
from pydantic import BaseModel, ValidationError
from referencing import Registry, Resource

from domain.shared.ids import is_valid_id
from domain.shared.pagination import MAX_PAGE_SIZE, PageRequest
from runners.shapes import first_problem, unstorable_path
from runners.web.routing import QueryParam
from runners.web.context import SETTINGS
from runners.web.errors import RequestError

M = TypeVar("M", bound=BaseModel)


async def parse_body(request: web.Request, model: type[M], required: bool = True) -> M:
    """The body as ``model``: 400 missing/malformed, 408 too slow, 413 too big, 415 not JSON, 422 not text or breaking the model
    (the message and ``details.field`` name the first offending field, "a/0/b")."""
    try:  # aiohttp enforces client_max_size here (413), but sets no deadline: a body sent a byte at a time
        async with asyncio.timeout(request.app[SETTINGS].http_body_timeout):
            raw = await request.read()
    except TimeoutError:
        raise RequestError(408, "body_timeout", "the request body did not arrive in time") from None
    if not raw.strip():
        if required:
            raise RequestError(400, "missing_body", "a JSON body is required")
        data: Any = {}
    else:
        ctype = request.content_type
        if ctype not in ("application/json", "application/octet-stream", "") and not ctype.endswith("+json"):
            raise RequestError(415, "unsupported_media_type", "send the body as application/json")
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise RequestError(400, "malformed_json", f"body is not valid JSON: {exc}") from None
    reject_unstorable(data)
    try:
        return model.model_validate(data)
    except ValidationError as err:
        where, message = first_problem(err)
        raise RequestError(422, "invalid_request", f"{where or '(body)'}: {message}", field=where or "(body)") from None


def reject_unstorable(data: Any) -> None:
    """Valid JSON is not always valid text: "\\ud800" decodes to a lone surrogate that no UTF-8 store,
    hash or log can take.  Refused here, at the boundary, for every string of every body."""
    where = unstorable_path(data)
    if where is not None:
        raise RequestError(422, "invalid_request", f"{where}: not valid Unicode text (a lone surrogate)",
                           field=where)


@lru_cache(maxsize=8)
def _validators(document_json: str) -> dict[str, Draft202012Validator]:
    schemas = json.loads(document_json)["components"]["schemas"]
    uri = "urn:confero:openapi"
    registry = Registry().with_resource(uri, Resource.from_contents(
        {"$schema": "https://json-schema.org/draft/2020-12/schema", "components": {"schemas": schemas}}))
    return {name: Draft202012Validator({"$ref": f"{uri}#/components/schemas/{name}"}, registry=registry,
                                       format_checker=Draft202012Validator.FORMAT_CHECKER) for name in schemas}


def check(name: str, data: Any, document: dict[str, Any] | None = None) -> list[str]:
    """Every error of ``data`` against the published component ``name``, checked by an independent JSON
    Schema validator (for tests: the document, not the models, is the contract)."""
    if document is None:
        from runners.web.app import served  # the full API's document (imported late: app imports us)
        from runners.web.openapi import build_document

        document = build_document(served())
    return [e.message for e in _validators(_document_text(document))[name].iter_errors(data)]


_TEXTS: dict[int, tuple[dict[str, Any], str]] = {}


def _document_text(document: dict[str, Any]) -> str:
    """The document as _validators' cache key, serialised once per document object: an app's document
    (app[OPENAPI]) is built once and never changed, and a test checks hundreds of bodies against it
    (dumping it each time was a quarter of the web tests' CPU).  The entry keeps the document alive, so
    its id cannot be reused by another object while cached."""
    hit = _TEXTS.get(id(document))
    if hit is not None and hit[0] is document:
        return hit[1]
    text = json.dumps(document, sort_keys=True)
    if len(_TEXTS) >= 8:
        del _TEXTS[next(iter(_TEXTS))]
    _TEXTS[id(document)] = (document, text)
    return text


def path_id(request: web.Request, name: str = "id") -> str:
    value = request.match_info[name]
    if not is_valid_id(value):
        raise RequestError(404, "malformed_id", f"{name} is not a valid id", field=name)
    return value


def query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise RequestError(422, "invalid_request", f"{name} must be an integer", field=name) from None
    if not low <= value <= high:
        raise RequestError(422, "invalid_request", f"{name} must be between {low} and {high}", field=name)
    return value


def query_enum(request: web.Request, name: str, enum_type: Any, default: Any) -> Any:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        return enum_type(raw)
    except ValueError:
        allowed = ", ".join(e.value for e in enum_type)
        raise RequestError(422, "invalid_request", f"{name} must be one of: {allowed}", field=name) from None


MAX_OFFSET = 10_000_000
DEFAULT_LIMIT = 20
# What page_request reads, as the OpenAPI document states it.
PAGING = (QueryParam(name="offset", schema={"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}),
          QueryParam(name="limit", schema={"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE,
                                           "default": DEFAULT_LIMIT}))


def page_request(request: web.Request) -> PageRequest:
    return PageRequest(offset=query_int(request, "offset", 0, 0, MAX_OFFSET),
                       limit=query_int(request, "limit", DEFAULT_LIMIT, 1, MAX_PAGE_SIZE))
