"""HTTP metrics label requests by route template, bounded method and status class."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import REGISTRY

from runners.observability.http_metrics import http_metrics
from runners.observability.routes import method_label


def count(method: str, route: str, status_class: str) -> float:
    value = REGISTRY.get_sample_value("confero_http_requests_total",
                                      {"method": method, "route": route, "status_class": status_class})
    return value or 0.0


async def test_requests_are_counted_by_route_template_method_and_status_class(aiohttp_client) -> None:
    async def item(request: web.Request) -> web.Response:
        if request.match_info["item_id"] == "boom":
            raise web.HTTPBadRequest()
        return web.json_response({})

    app = web.Application(middlewares=[http_metrics])
    app.router.add_route("*", "/things/{item_id}", item)
    client = await aiohttp_client(app)
    before = {k: count(*k) for k in (("GET", "/things/{item_id}", "2xx"), ("GET", "/things/{item_id}", "4xx"),
                                      ("PATCH", "/things/{item_id}", "2xx"), ("GET", "unmatched", "4xx"))}
    for path in ("/things/a1", "/things/b2", "/things/boom", "/nothing/here"):
        await client.get(path)
    await client.patch("/things/c3")
    after = {k: count(*k) - v for k, v in before.items()}
    assert after == {("GET", "/things/{item_id}", "2xx"): 2, ("GET", "/things/{item_id}", "4xx"): 1,
                     ("PATCH", "/things/{item_id}", "2xx"): 1, ("GET", "unmatched", "4xx"): 1}


def test_a_method_outside_http_s_own_set_is_one_label() -> None:
    assert [method_label(m) for m in ("GET", "DELETE", "BREW", "X" * 100)] == ["GET", "DELETE", "other", "other"]
