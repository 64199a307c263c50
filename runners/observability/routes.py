"""Bounded label values for HTTP metrics and span names."""

from __future__ import annotations

from aiohttp import web

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_template(request: web.Request) -> str:
    """``/api/v1/meetings/{meeting_id}``, never the raw path: an unknown path is "unmatched"."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def method_label(method: str) -> str:
    return method if method in METHODS else "other"
