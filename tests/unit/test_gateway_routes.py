"""The gateway's route table comes from the API's own list: every real route has a service, and the
routes open at the edge are exactly the ones the API and its document treat as public."""

from __future__ import annotations

import re

import pytest

from runners.gateway.routes import ALLINONE, GATEWAY, SERVICES, TAG_SERVICE, RouteTable
from runners.web.app import ROUTES
from runners.web.routing import Endpoint

API = "/api/v1"


def concrete(path: str) -> str:
    return re.sub(r"{\w+}", "some-id", path)


def test_every_real_route_maps_to_a_registered_service_or_the_gateway_itself() -> None:
    table = RouteTable(ROUTES)
    for e in ROUTES:
        route = table.resolve(e.method, concrete(e.path))
        assert route is not None, f"{e.method} {e.path} has no service"
        assert route.service in (*SERVICES, GATEWAY) and route.service != ALLINONE
        assert route.service == TAG_SERVICE[e.tag]


@pytest.mark.parametrize(("method", "path", "service"), [
    ("POST", f"{API}/auth/login", "users"), ("GET", f"{API}/users/me", "users"),
    ("GET", f"{API}/admin/users", "users"), ("GET", f"{API}/meetings/m1", "meetings"),
    ("POST", f"{API}/recordings", "signaling"), ("GET", f"{API}/recording-files", "signaling"),
    ("GET", "/ws/signaling", "signaling"), ("GET", f"{API}/ai/analyses/a1", "ai"),
    ("GET", f"{API}/notifications", "notifications"), ("GET", f"{API}/meetings/m1/transcript", "meetings"),
])
def test_the_services_named_in_the_issue_get_their_routes(method: str, path: str, service: str) -> None:
    route = RouteTable(ROUTES).resolve(method, path)
    assert route is not None and route.service == service


def test_the_public_routes_are_those_without_authentication_in_the_api() -> None:
    table = RouteTable(ROUTES)
    public = {(e.method, e.path) for e in ROUTES if table.resolve(e.method, concrete(e.path)).public}  # type: ignore[union-attr]
    # The same set as tests/unit/test_web_openapi.py, plus the self-authenticating WebSocket upgrade.
    assert public == {("GET", "/health"), ("GET", "/ready"), ("GET", f"{API}/openapi.json"),
                      ("POST", f"{API}/auth/register"), ("POST", f"{API}/auth/login"), ("POST", f"{API}/auth/refresh"),
                      ("POST", f"{API}/auth/verify-email"), ("POST", f"{API}/auth/password-reset"),
                      ("POST", f"{API}/auth/password-reset/confirm"), ("GET", f"{API}/recording-files"),
                      ("GET", f"{API}/notifications/unsubscribe"), ("POST", f"{API}/notifications/unsubscribe"),
                      ("GET", "/ws/signaling")}


def test_a_method_a_path_does_not_serve_needs_a_token_and_unknown_paths_have_no_route() -> None:
    table = RouteTable(ROUTES)
    route = table.resolve("PATCH", f"{API}/recording-files")
    assert route is not None and not route.public
    assert table.resolve("GET", f"{API}/nothing-here") is None
    assert table.resolve("GET", f"{API}/meetings/a/b/c/d") is None


def test_a_tag_without_a_service_or_a_path_of_two_services_is_refused() -> None:
    async def h(request):  # type: ignore[no-untyped-def]
        raise AssertionError

    with pytest.raises(KeyError):
        RouteTable([Endpoint.get("/x", h, summary="", tag="new-tag")])
    with pytest.raises(ValueError):
        RouteTable([Endpoint.get("/x", h, summary="", tag="users"), Endpoint.post("/x", h, summary="", tag="ai")])
