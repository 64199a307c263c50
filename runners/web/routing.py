"""Endpoints: for each route, its handler and what the OpenAPI document must say about it.

Each handler module lists its endpoints in a ``ROUTES`` tuple; ``runners.web.app.ROUTES`` names every
module's list explicitly.  The aiohttp router, the authentication middleware and the OpenAPI document are
all built from that one list, so they cannot drift apart (a test checks the router against the document).
Nothing registers itself as a side effect of an import.

A new route is a handler plus one entry in its module's list::

    async def x(request): ...
    ROUTES = (Endpoint.post("/api/v1/x", x, summary="...", tag="x", body=XRequest, response=X),)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web
from attrs import field, frozen
from pydantic import BaseModel

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ENDPOINTS = web.AppKey("endpoints", dict)  # aiohttp route -> Endpoint, for the authentication middleware


@frozen(kw_only=True)
class QueryParam:
    name: str
    schema: dict[str, Any]
    description: str = ""


@frozen(kw_only=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    auth: bool = True
    # The handler authenticates by itself, by an optional bearer header or otherwise (the WebSocket upgrade:
    # a header, or the first frame): the middleware lets it through and the document says the header is
    # optional.
    self_authenticating: bool = False
    body: type[BaseModel] | None = None
    body_required: bool = True
    query: tuple[QueryParam, ...] = ()
    status: int = 200
    response: type[BaseModel] | str | None = None  # a model, or the name of a documented union (UserView)
    errors: tuple[int, ...] = field(default=())
    # Besides the JSON body: a multipart/form-data alternative (file uploads), other success statuses with
    # the same reply (202 for a queued job), and binary replies by media type (downloads).
    upload: type[BaseModel] | None = None
    also_ok: tuple[int, ...] = ()
    binary: tuple[str, ...] = ()

    @classmethod
    def get(cls, path: str, handler: Handler, **spec: Any) -> Endpoint:
        return cls(method="GET", path=path, handler=handler, **spec)

    @classmethod
    def post(cls, path: str, handler: Handler, **spec: Any) -> Endpoint:
        return cls(method="POST", path=path, handler=handler, **spec)

    @classmethod
    def put(cls, path: str, handler: Handler, **spec: Any) -> Endpoint:
        return cls(method="PUT", path=path, handler=handler, **spec)

    @classmethod
    def delete(cls, path: str, handler: Handler, **spec: Any) -> Endpoint:
        return cls(method="DELETE", path=path, handler=handler, **spec)


def install(app: web.Application, endpoints: Iterable[Endpoint]) -> None:
    """Adds the endpoints to the router and remembers each route's endpoint for the middlewares."""
    by_route = app.setdefault(ENDPOINTS, {})
    for e in endpoints:
        by_route[app.router.add_route(e.method, e.path, e.handler)] = e


def endpoint_of(request: web.Request) -> Endpoint | None:
    return request.app.get(ENDPOINTS, {}).get(request.match_info.route)


def select(endpoints: Iterable[Endpoint], tags: set[str] | None) -> list[Endpoint]:
    """The endpoints a process serves (a signaling-only process serves a few tags); the first of two
    endpoints for one method and path wins."""
    seen: set[tuple[str, str]] = set()
    out = []
    for e in endpoints:
        if (tags is None or e.tag in tags) and (e.method, e.path) not in seen:
            seen.add((e.method, e.path))
            out.append(e)
    return out

