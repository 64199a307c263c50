"""The served OpenAPI document is valid, matches the router exactly, and tells the truth about bodies."""

from __future__ import annotations

import re
from typing import Any

from openapi_spec_validator import validate

from runners.web.app import served
from runners.web.openapi import build_document
from runners.web.static_site import SITE_ROUTE_NAMES
from runners.web.validation import check
from tests.unit.web_support import API, WebApi, web, web_factory  # noqa: F401  (fixtures)

METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}


def served_endpoints() -> list:
    return served()


async def served_document(web: WebApi) -> dict[str, Any]:
    return await web.ok("GET", f"{API}/openapi.json")


def documented_operations(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in doc["paths"].items() for method in item if method in METHODS}


def served_routes(web: WebApi) -> set[tuple[str, str]]:
    out = set()
    for route in web.app.router.routes():
        if route.method == "HEAD" or route.name in SITE_ROUTE_NAMES:  # HEAD beside every GET; the web client
            continue
        assert route.resource is not None
        out.add((route.method, route.resource.canonical))
    return out


async def test_the_served_document_is_valid_openapi_3_1(web: WebApi) -> None:
    doc = await served_document(web)
    assert doc["openapi"].startswith("3.1")
    validate(doc)
    assert doc == build_document(served())


async def test_every_served_route_is_documented_and_every_documented_operation_is_served(web: WebApi) -> None:
    doc = await served_document(web)
    served, documented = served_routes(web), documented_operations(doc)
    assert served - documented == set(), "served but not documented"
    assert documented - served == set(), "documented but not served"
    assert len(served) == len(served_endpoints())


async def test_operation_ids_are_unique_and_path_parameters_are_declared(web: WebApi) -> None:
    doc = await served_document(web)
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    for path, item in doc["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for op in item.values():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == names, f"{path}: {declared} != {names}"


async def test_public_and_protected_operations_are_marked_as_the_router_treats_them(web: WebApi) -> None:
    doc = await served_document(web)
    public = {(m, p) for m, p in documented_operations(doc) if doc["paths"][p][m.lower()]["security"] == []}
    assert public == {("GET", "/health"), ("GET", "/ready"), ("GET", f"{API}/openapi.json"),
                      ("POST", f"{API}/auth/register"), ("POST", f"{API}/auth/login"), ("POST", f"{API}/auth/refresh"),
                      ("POST", f"{API}/auth/verify-email"), ("POST", f"{API}/auth/password-reset"),
                      ("POST", f"{API}/auth/password-reset/confirm"),
                      ("GET", f"{API}/recording-files"),  # the link's signature is its authorisation
                      # an email's unsubscribe link works without signing in: its token is signed
                      ("GET", f"{API}/notifications/unsubscribe"), ("POST", f"{API}/notifications/unsubscribe")}


async def test_every_operation_documents_the_errors_the_runner_can_always_produce(web: WebApi) -> None:
    """Whatever the handler does, json_body can answer 400/413/415/422, path ids 404, auth 401."""
    doc = await served_document(web)
    missing = {}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            must = set()
            if "requestBody" in op:
                must |= {"400", "413", "415", "422"}
            if "{" in path:
                must.add("404")
            if op["security"]:
                must.add("401")
            if any(p["in"] == "query" for p in op.get("parameters", [])):
                must.add("422")
            if must - set(op["responses"]):
                missing[f"{method.upper()} {path}"] = sorted(must - set(op["responses"]))
    assert missing == {}


async def test_happy_path_bodies_match_their_documented_schemas(web: WebApi) -> None:
    """Explicit here; every other web test also checks each reply through WebApi.call."""
    def ok(name: str, body: Any) -> Any:
        assert check(name, body) == [], (name, check(name, body), body)
        return body

    admin = await web.admin()
    ok("User", await web.register("alice", display_name="Alice"))
    bob = await web.user("bob")
    tokens = ok("TokenResponse", await web.login("alice"))
    alice_auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    ok("RefreshResponse", await web.ok("POST", f"{API}/auth/refresh", json={"refresh_token": bob.refresh}))
    ok("User", await web.ok("GET", f"{API}/users/me", headers=alice_auth))
    alice_id = tokens["user"]["id"]
    ok("User", await web.ok("GET", f"{API}/users/{alice_id}", headers=alice_auth))
    public = ok("PublicUser", await web.ok("GET", f"{API}/users/{alice_id}", who=bob))
    assert check("User", public) != []  # the oneOf in UserView is unambiguous
    ok("UserView", public)
    ok("User", await web.ok("PUT", f"{API}/users/{alice_id}", headers=alice_auth, json={"display_name": "Al"}))

    created = ok("Meeting", await web.ok("POST", f"{API}/meetings", 201, headers=alice_auth, json={
        "title": "Sync", "description": "weekly", "start_time": "2031-03-04T05:06:07+02:00",
        "duration_minutes": 30, "capacity": 5, "password": "pass-word",
        "settings": {"mute_on_join": True, "allow_recording": False, "invite_only": False}}))
    mid = created["id"]
    assert created["start_time"] == "2031-03-04T03:06:07.000000Z"  # always with microseconds: sortable as text
    ok("Meeting", await web.get_meeting(bob, mid))
    ok("Meeting", await web.ok("POST", f"{API}/meetings/{mid}/join", headers=alice_auth))
    ok("Meeting", await web.join(bob, mid, password="pass-word"))
    ok("MeetingPage", await web.ok("GET", f"{API}/meetings", who=bob, params={"when": "all"}))
    ok("ParticipantList", await web.ok("GET", f"{API}/meetings/{mid}/participants", who=bob))
    ok("Meeting", await web.ok("PUT", f"{API}/meetings/{mid}", headers=alice_auth, json={"password": None}))
    ok("Meeting", await web.ok("POST", f"{API}/meetings/{mid}/invitations", headers=alice_auth,
                               json={"email": "carol@example.com"}))
    ok("Meeting", await web.ok("POST", f"{API}/meetings/{mid}/cohosts/{bob.id}", headers=alice_auth))
    ok("Meeting", await web.ok("DELETE", f"{API}/meetings/{mid}/cohosts/{bob.id}", headers=alice_auth))
    ok("Meeting", await web.ok("POST", f"{API}/meetings/{mid}/lock", headers=alice_auth))
    ok("Meeting", await web.ok("POST", f"{API}/meetings/{mid}/participants/{bob.id}/kick", headers=alice_auth))
    ok("Meeting", await web.ok("POST", f"{API}/meetings/{mid}/end", headers=alice_auth))

    ok("UserPage", await web.users_page(admin))
    ok("User", await web.ok("POST", f"{API}/admin/users/{bob.id}/ban", who=admin))
    ok("User", await web.ok("POST", f"{API}/admin/users/{bob.id}/unban", who=admin))
    ok("User", await web.ok("PUT", f"{API}/admin/users/{bob.id}/role", who=admin, json={"role": "admin"}))
    ok("Health", await web.ok("GET", "/health"))


async def test_error_bodies_match_the_error_schema(web: WebApi) -> None:
    for method, path in (("GET", f"{API}/users/me"), ("GET", f"{API}/nope"), ("DELETE", "/health"),
                         ("GET", f"{API}/meetings/not-an-id")):
        reply = await web.call(method, path)
        assert reply.status >= 400 and check("Error", reply.body) == []


async def test_documented_response_schemas_all_exist(web: WebApi) -> None:
    doc = await served_document(web)
    names = set(doc["components"]["schemas"])
    refs = set(re.findall(r'"#/components/schemas/(\w+)"', repr(doc).replace("'", '"')))
    assert refs <= names


async def test_the_signaling_upgrade_documents_its_bearer_header_as_optional(web: WebApi) -> None:
    """A socket may authenticate with its first frame: a missing token is no 401, only a refused one is."""
    op = (await served_document(web))["paths"]["/ws/signaling"]["get"]
    assert {} in op["security"] and {"bearer": []} in op["security"]
    assert "Missing" not in op["responses"]["401"]["description"]
    assert "refused" in op["responses"]["401"]["description"]
