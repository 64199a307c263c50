"""Cross-cutting HTTP concerns: CORS, request ids with access logs, error mapping, authentication."""

from __future__ import annotations

import logging
import re
import time
import uuid

from aiohttp import web, web_response

from domain.shared.errors import DomainError
from domain.users.errors import InvalidToken
from runners.web import errors
from runners.app_state import bearer_token
from runners.web.context import PRINCIPAL, REQUEST_ID, SERVICES, SETTINGS
from runners.web.logs import request_id_var
from runners.web.routing import endpoint_of

log = logging.getLogger("runners.web.access")
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
CORS_METHODS = "GET, POST, PUT, DELETE, OPTIONS"
CORS_HEADERS = "Authorization, Content-Type, X-Request-Id"


@web.middleware
async def cors(request: web.Request, handler):  # type: ignore[no-untyped-def]
    # A 12-line policy is simpler to audit than aiohttp-cors's per-route resource wiring.
    allowed = request.app[SETTINGS].cors_origins
    origin = request.headers.get("Origin")
    ok = origin is not None and (origin in allowed or "*" in allowed)
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        response: web.StreamResponse = web.Response(status=204 if ok else 403)
    else:
        response = await handler(request)
    if ok:
        response.headers["Access-Control-Allow-Origin"] = origin  # type: ignore[assignment]
        response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
        response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
        response.headers["Access-Control-Expose-Headers"] = "X-Request-Id, Retry-After"
        response.headers["Access-Control-Max-Age"] = "600"
        response.headers["Vary"] = "Origin"
    return response


@web.middleware
async def request_ids(request: web.Request, handler):  # type: ignore[no-untyped-def]
    incoming = request.headers.get("X-Request-Id", "")
    rid = incoming if _REQUEST_ID_RE.fullmatch(incoming) else uuid.uuid4().hex
    request[REQUEST_ID] = rid
    token = request_id_var.set(rid)
    started = time.perf_counter()
    try:
        response = await handler(request)
        response.headers["X-Request-Id"] = rid
        log.info("request", extra={"method": request.method, "path": request.path, "status": response.status,
                                   "ms": round((time.perf_counter() - started) * 1000, 2)})
        return response
    finally:
        request_id_var.reset(token)


@web.middleware
async def error_mapping(request: web.Request, handler):  # type: ignore[no-untyped-def]
    rid = request.get(REQUEST_ID)
    try:
        return await handler(request)
    except DomainError as err:
        return errors.from_domain(err, rid)
    except errors.RequestError as err:
        return errors.error_response(err.status, err.code, err.message, rid, err.details)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return errors.from_http(exc, rid)
    except Exception:
        log.exception("unhandled error", extra={"method": request.method, "path": request.path})
        return errors.internal(rid)


@web.middleware
async def authentication(request: web.Request, handler):  # type: ignore[no-untyped-def]
    endpoint = endpoint_of(request)
    if endpoint is not None and endpoint.auth:
        token = bearer_token(request)
        if token is None:
            raise InvalidToken("send 'Authorization: Bearer <access token>'")
        request[PRINCIPAL] = await request.app[SERVICES].authenticator.authenticate(token)
    return await handler(request)


MIDDLEWARES = [cors, request_ids, error_mapping, authentication]
SERVER_NAME = "confero"


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare, so error pages and WebSocket upgrades get them too: browsers must not sniff a JSON
    error into HTML, and the Server header names no version for scanners to match against."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers["Server"] = SERVER_NAME


def hide_server_version() -> None:
    """aiohttp writes ``Server: Python/x aiohttp/y`` into the responses it makes before any app code runs
    (a request line it cannot parse, an oversized header) from this module global; there is no setting."""
    web_response.SERVER_SOFTWARE = SERVER_NAME  # type: ignore[attr-defined]

