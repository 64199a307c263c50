"""The only place that knows HTTP statuses: domain errors and request problems -> JSON errors."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from domain.shared.errors import DomainError, ErrorKind, RateLimited
from runners.app_state import error_response

log = logging.getLogger("runners.web")

HTTP_STATUS = {
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.ALREADY_EXISTS: 409,
    ErrorKind.INVALID_ARGUMENT: 422,
    ErrorKind.FAILED_PRECONDITION: 409,
    ErrorKind.PERMISSION_DENIED: 403,
    ErrorKind.UNAUTHENTICATED: 401,
    ErrorKind.RESOURCE_EXHAUSTED: 429,
    ErrorKind.CONFLICT: 409,
    ErrorKind.UNAVAILABLE: 503,
}

# aiohttp's own HTTP exceptions (routing, body size) keep their status and get a stable code.
HTTP_CODES = {400: "bad_request", 401: "unauthenticated", 403: "permission_denied", 404: "not_found",
              405: "method_not_allowed", 408: "request_timeout", 413: "body_too_large", 415: "unsupported_media_type",
              422: "invalid_request", 429: "rate_limited"}


class RequestError(Exception):
    """Bad input found by the runner itself (malformed JSON, schema violations, malformed ids)."""

    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details




def from_domain(err: DomainError, request_id: str | None) -> web.Response:
    headers = None
    if isinstance(err, RateLimited) and "retry_after" in err.details:
        headers = {"Retry-After": str(int(err.details["retry_after"]))}
    return error_response(HTTP_STATUS[err.kind], err.code, err.message, request_id, dict(err.details), headers)


def from_http(exc: web.HTTPException, request_id: str | None) -> web.Response:
    status = exc.status
    code = HTTP_CODES.get(status, "http_error")
    message = exc.reason or code
    headers = {"Allow": exc.headers["Allow"]} if status == 405 and "Allow" in exc.headers else None
    return error_response(status, code, message.lower() if status != 413 else "request body is too large",
                          request_id, headers=headers)


def internal(request_id: str | None) -> web.Response:
    return error_response(500, "internal", "internal error; quote the request id when reporting it", request_id)
