"""A route table that knows, for each endpoint, what the OpenAPI document must say about it.

Handlers are registered once here; the aiohttp router and the OpenAPI document are both built from
this table, so they cannot drift apart (a test checks the app's router against the document too).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from attrs import field, frozen

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@frozen(kw_only=True)
class QueryParam:
    name: str
    schema: dict[str, Any]
    description: str = ""


@frozen(kw_only=True)
class Endpoint:
    @property
    def documented_auth(self) -> bool:
        return self.auth or self.self_authenticating

    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    auth: bool = True
    # Documented as bearer-protected though the middleware lets it through (the WebSocket upgrade
    # authenticates by header or by its first frame).
    self_authenticating: bool = False
    body: str | None = None
    body_required: bool = True
    query: tuple[QueryParam, ...] = ()
    status: int = 200
    response: str | None = None
    errors: tuple[int, ...] = field(default=())


class RouteTable:
    def __init__(self) -> None:
        self.endpoints: list[Endpoint] = []

    def add(self, method: str, path: str, **spec: Any) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            endpoint = Endpoint(method=method, path=path, handler=handler, **spec)
            self.endpoints.append(endpoint)
            handler.endpoint = endpoint  # type: ignore[attr-defined]  # read by the auth middleware
            return handler

        return register

    def get(self, path: str, **spec: Any) -> Callable[[Handler], Handler]:
        return self.add("GET", path, **spec)

    def post(self, path: str, **spec: Any) -> Callable[[Handler], Handler]:
        return self.add("POST", path, **spec)

    def put(self, path: str, **spec: Any) -> Callable[[Handler], Handler]:
        return self.add("PUT", path, **spec)

    def delete(self, path: str, **spec: Any) -> Callable[[Handler], Handler]:
        return self.add("DELETE", path, **spec)

    def install(self, app: web.Application, tags: set[str] | None = None) -> None:
        for e in self.endpoints:
            if tags is None or e.tag in tags:
                app.router.add_route(e.method, e.path, e.handler)

    def document_for(self, tags: set[str] | None) -> RouteTable:
        table = RouteTable()
        table.endpoints = [e for e in self.endpoints if tags is None or e.tag in tags]
        return table


def endpoint_of(handler: Any) -> Endpoint | None:
    return getattr(handler, "endpoint", None)


routes = RouteTable()
