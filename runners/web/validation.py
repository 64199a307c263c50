"""Request parsing: JSON bodies checked against the published schemas, ids, times and paging."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from aiohttp import web
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from domain.shared.ids import is_valid_id
from domain.shared.text import unstorable_path
from domain.shared.pagination import MAX_PAGE_SIZE, PageRequest
from runners.web.errors import RequestError
from runners.web.schemas import SCHEMAS

_URI = "urn:confero:schemas"
_registry = Registry().with_resource(_URI, Resource.from_contents(
    {"$schema": "https://json-schema.org/draft/2020-12/schema", "components": {"schemas": SCHEMAS}}))
_validators = {name: Draft202012Validator({"$ref": f"{_URI}#/components/schemas/{name}"}, registry=_registry,
                                         format_checker=Draft202012Validator.FORMAT_CHECKER)
               for name in SCHEMAS}


def validate(name: str, data: Any) -> None:
    """Raises RequestError(422) naming the first offending field."""
    error = next(iter(sorted(_validators[name].iter_errors(data), key=lambda e: list(e.path))), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(body)"
        raise RequestError(422, "invalid_request", f"{where}: {error.message}", field=where)


def check(name: str, data: Any) -> list[str]:
    """All schema errors, for tests that check responses against the document."""
    return [e.message for e in _validators[name].iter_errors(data)]


async def json_body(request: web.Request, schema: str, required: bool = True) -> dict[str, Any]:
    raw = await request.read()  # aiohttp enforces client_max_size here (413)
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
    validate(schema, data)
    return data


def reject_unstorable(data: Any) -> None:
    """Valid JSON is not always valid text: "\\ud800" decodes to a lone surrogate that no UTF-8 store,
    hash or log can take.  Refused here, at the boundary, for every string of every body."""
    where = unstorable_path(data)
    if where is not None:
        raise RequestError(422, "invalid_request", f"{where}: not valid Unicode text (a lone surrogate)",
                           field=where)


def path_id(request: web.Request, name: str = "id") -> str:
    value = request.match_info[name]
    if not is_valid_id(value):
        raise RequestError(404, "malformed_id", f"{name} is not a valid id", field=name)
    return value


def parse_time(value: str, field: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise RequestError(422, "invalid_request", f"{field}: not an ISO 8601 date-time", field=field) from None
    if parsed.tzinfo is None:
        raise RequestError(422, "invalid_request", f"{field}: a time zone is required", field=field)
    try:
        return parsed.astimezone(dt.timezone.utc)
    except OverflowError:
        raise RequestError(422, "invalid_request", f"{field}: out of range", field=field) from None


def whole(value: object) -> int | None:
    """JSON Schema counts 10.0 as an integer; the domain stores ints."""
    return None if value is None else int(value)  # type: ignore[call-overload]


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


def page_request(request: web.Request) -> PageRequest:
    return PageRequest(offset=query_int(request, "offset", 0, 0, 10_000_000),
                       limit=query_int(request, "limit", 20, 1, MAX_PAGE_SIZE))
