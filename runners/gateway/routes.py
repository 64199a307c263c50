"""Which service answers which request, derived from the API's own route table (runners.web.app.ROUTES).

Every endpoint carries a tag (the tags are what ``python -m runners.<service>`` selects); ``TAG_SERVICE`` names
the registry service of each tag, so a new endpoint needs nothing here, and a new tag fails at import
until it gets a service.  ``public`` comes from the same ``Endpoint.auth`` flag that the authentication
middleware and the OpenAPI document use; ``self_authenticating`` endpoints (the signaling WebSocket:
a token header or the first frame) pass the edge and authenticate upstream.

``meta`` endpoints (/health, /ready, the OpenAPI document) are answered by the gateway itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import attrs
from attrs import frozen

from runners.web.routing import Endpoint

ALLINONE = "allinone"  # serves every route; used for a service with no instance of its own
GATEWAY = ""  # answered by the gateway itself

TAG_SERVICE = {
    "auth": "users", "users": "users", "admin": "users",
    "meetings": "meetings", "captions": "meetings",
    # A recording is taped by the SFU that holds the room: the signaling process (media) until media nodes exist.
    "recordings": "signaling",
    "signaling": "signaling", "media": "signaling",
    "ai": "ai",
    "notifications": "notifications",
    "meta": GATEWAY,
}
SERVICES = ("users", "meetings", "signaling", "ai", "notifications", ALLINONE)


@frozen
class Route:
    service: str
    public: bool  # no token needed at the edge
    websocket: bool = False
    path: str = ""  # the endpoint's template (/api/v1/meetings/{id}): the gateway's span names


def _pattern(path: str) -> re.Pattern[str]:
    parts = re.split(r"({\w+})", path)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts if p) + r"\Z")


class RouteTable:
    """``resolve(method, path)``: the Route of a request, or None for a path no service serves (404 at the
    edge).  Literal paths win over templates (``/meetings/mine`` before ``/meetings/{id}``), as in aiohttp."""

    def __init__(self, endpoints: Iterable[Endpoint]) -> None:
        self._literal: dict[tuple[str, str], Route] = {}
        self._templates: list[tuple[str, re.Pattern[str], Route]] = []
        self._by_shape: dict[tuple[str, int], list[tuple[re.Pattern[str], Route]]] = {}  # (method, segments)
        self.paths: dict[str, str] = {}  # path template -> service (one service per path)
        for e in endpoints:
            service = TAG_SERVICE[e.tag]
            if self.paths.setdefault(e.path, service) != service:
                raise ValueError(f"{e.path} is served by two services: {self.paths[e.path]} and {service}")
            route = Route(service=service, public=not e.auth or e.self_authenticating,
                          websocket=e.status == 101, path=e.path)
            if "{" in e.path:
                pattern = _pattern(e.path)
                self._templates.append((e.method, pattern, route))
                self._by_shape.setdefault((e.method, e.path.count("/")), []).append((pattern, route))
            else:
                self._literal[(e.method, e.path)] = route

    def resolve(self, method: str, path: str) -> Route | None:
        lookup = "GET" if method in ("HEAD", "OPTIONS") else method
        route = self._literal.get((lookup, path))
        if route is not None:
            return route
        for pattern, route in self._by_shape.get((lookup, path.count("/")), ()):
            if pattern.match(path):
                return route
        return self._any_method(path)

    def _any_method(self, path: str) -> Route | None:
        """A path served with other methods: its service answers (405), to a signed-in caller only."""
        for (_, literal), route in self._literal.items():
            if literal == path:
                return attrs.evolve(route, public=False)
        for _, pattern, route in self._templates:
            if pattern.match(path):
                return attrs.evolve(route, public=False)
        return None
