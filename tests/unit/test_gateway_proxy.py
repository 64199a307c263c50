"""The gateway's proxying, with real aiohttp upstreams on 127.0.0.1 registered in a memory registry."""

from __future__ import annotations

import asyncio
import hashlib
import socket
from typing import Any

import aiohttp
import pytest
import yarl
from aiohttp import web

from tests.unit.gateway_support import Mesh, access_token, mesh  # noqa: F401  (fixture)

API = "/api/v1"
BIG = 3 * 1024 * 1024 + 17
CLOSES = web.AppKey("closes", list)  # the close codes a fake upstream's sockets ended with


def upstream(name: str, hits: list[str] | None = None) -> web.Application:
    """A fake service: says who it is and what it was sent; streams; hangs; a WebSocket echo."""
    hits = hits if hits is not None else []
    never = asyncio.Event()

    async def meeting(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.json_response({"instance": name, "id": request.match_info["id"], "raw": request.raw_path,
                                  "headers": {k: v for k, v in request.headers.items()}})

    async def upload(request: web.Request) -> web.Response:
        hits.append(request.path)
        digest, size = hashlib.sha256(), 0
        async for chunk in request.content.iter_any():
            digest.update(chunk)
            size += len(chunk)
        return web.json_response({"instance": name, "size": size, "sha256": digest.hexdigest()}, status=201)

    async def download(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        await response.prepare(request)
        for i in range(0, BIG, 64 * 1024):
            await response.write(bytes([i % 251]) * min(64 * 1024, BIG - i))
        await response.write_eof()
        return response

    async def hang(request: web.Request) -> web.Response:
        hits.append(request.path)
        await never.wait()
        raise AssertionError("unreachable")

    async def login(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.json_response({"instance": name, "auth": request.headers.get("Authorization")})

    async def socket_(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") == "Bearer refuse-me":
            return web.json_response({"error": {"code": "unauthenticated"}}, status=401)
        ws = web.WebSocketResponse(protocols=("confero.v1",))
        await ws.prepare(request)
        async for msg in ws:
            if msg.data.startswith("close:"):
                _, code, reason = msg.data.split(":", 2)
                await ws.close(code=int(code), message=reason.encode())
                break
            if msg.data == "die":  # the process dies: the connection drops without a close frame
                assert request.transport is not None
                request.transport.abort()
                break
            if msg.data == "who":
                await ws.send_str(name)
            else:
                await ws.send_str(f"echo:{msg.data}")
        closes.append(ws.close_code)
        return ws

    app = web.Application()
    closes = app[CLOSES] = []
    app.router.add_get(f"{API}/meetings/{{id}}", meeting)
    app.router.add_post(f"{API}/meetings", upload)
    app.router.add_get(f"{API}/recordings/{{id}}", download)
    app.router.add_get(f"{API}/users/me", hang)
    app.router.add_post(f"{API}/auth/login", login)
    app.router.add_get("/ws/signaling", socket_)
    return app


def auth(user: str = "u-1") -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token(user)}"}


async def get(m: Mesh, path: str, **kw: Any) -> tuple[int, Any, Any]:
    async with m.session.get(m.url + path, **kw) as r:
        body = await r.json() if r.content_type == "application/json" else await r.read()
        return r.status, body, r.headers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_a_request_reaches_the_service_with_forwarding_headers_and_without_hop_by_hop_ones(m: Mesh) -> None:
    await m.start_gateway()
    await m.start("meetings", "m1", upstream("m1"))
    status, body, headers = await get(m, f"{API}/meetings/abc?x=1&y=%20", headers={
        **auth(), "Connection": "keep-alive, X-Secret-Hop", "X-Secret-Hop": "1", "X-Request-Id": "req-12345678",
        "X-Forwarded-For": "6.6.6.6"})
    assert status == 200 and body["instance"] == "m1" and body["id"] == "abc" and body["raw"] == f"{API}/meetings/abc?x=1&y=%20"
    sent = {k.lower(): v for k, v in body["headers"].items()}
    assert "x-secret-hop" not in sent and sent["x-forwarded-for"] == "127.0.0.1"  # a client's claim is not kept
    assert sent["x-forwarded-proto"] == "http" and sent["host"] == m.url.removeprefix("http://")
    assert sent["x-request-id"] == "req-12345678" and headers["X-Request-Id"] == "req-12345678"
    assert sent["authorization"].startswith("Bearer ")


async def test_a_request_id_is_made_when_the_client_sends_none(m: Mesh) -> None:
    await m.start_gateway()
    await m.start("meetings", "m1", upstream("m1"))
    _, body, headers = await get(m, f"{API}/meetings/abc", headers=auth())
    assert len(headers["X-Request-Id"]) >= 8 and {k.lower(): v for k, v in body["headers"].items()}["x-request-id"] == headers["X-Request-Id"]


async def test_large_bodies_stream_both_ways(m: Mesh) -> None:
    await m.start_gateway()
    await m.start("meetings", "m1", upstream("m1"))

    async def chunks():  # a chunked upload: no Content-Length
        for i in range(0, BIG, 100_000):
            yield b"z" * min(100_000, BIG - i)

    async with m.session.post(f"{m.url}{API}/meetings", data=chunks(), headers=auth()) as r:
        assert r.status == 201
        assert await r.json() == {"instance": "m1", "size": BIG, "sha256": hashlib.sha256(b"z" * BIG).hexdigest()}
    await m.start("signaling", "s1", upstream("s1"))  # recordings are served where the SFU tapes them
    status, body, _ = await get(m, f"{API}/recordings/r1", headers=auth())
    assert status == 200 and len(body) == BIG and body[:1] == b"\x00" and body[-1:] == bytes([(BIG - 1) // 65536 * 65536 % 251])


async def test_no_instance_of_a_service_is_503_service_unavailable(m: Mesh) -> None:
    await m.start_gateway()
    status, body, _ = await get(m, f"{API}/meetings/abc", headers=auth())
    assert status == 503 and body["error"]["code"] == "service_unavailable" and body["error"]["request_id"]


async def test_an_instance_that_refuses_connections_is_502_bad_gateway(m: Mesh) -> None:
    await m.start_gateway()
    await m.register("meetings", "dead", f"127.0.0.1:{free_port()}")
    status, body, _ = await get(m, f"{API}/meetings/abc", headers=auth())
    assert status == 502 and body["error"]["code"] == "bad_gateway"
    async with m.session.post(f"{m.url}{API}/meetings", data=b"{}", headers=auth()) as r:
        assert r.status == 502 and (await r.json())["error"]["code"] == "bad_gateway"


async def test_a_slow_upstream_is_504_gateway_timeout(m: Mesh) -> None:
    await m.start_gateway(APP_GATEWAY_TIMEOUT="0.3")
    await m.start("users", "u1", upstream("u1"))
    status, body, _ = await get(m, f"{API}/users/me", headers=auth())
    assert status == 504 and body["error"]["code"] == "gateway_timeout"


async def test_requests_go_around_a_killed_instance(m: Mesh) -> None:
    await m.start_gateway()
    await m.start("meetings", "a", upstream("a"))
    await m.start("meetings", "b", upstream("b"))
    seen = {(await get(m, f"{API}/meetings/{i}", headers=auth()))[1]["instance"] for i in range(4)}
    assert seen == {"a", "b"}  # both take turns
    await m.kill("a")  # still registered: its lease has not run out
    for i in range(6):
        status, body, _ = await get(m, f"{API}/meetings/{i}", headers=auth())
        assert (status, body["instance"]) == (200, "b")
    async with m.session.post(f"{m.url}{API}/meetings", data=b"x" * 10, headers=auth()) as r:
        assert r.status == 201 and (await r.json())["instance"] == "b"  # nothing had been sent to "a"


async def test_many_concurrent_requests_survive_a_killed_instance(m: Mesh) -> None:
    await m.start_gateway()
    await m.start("meetings", "a", upstream("a"))
    await m.start("meetings", "b", upstream("b"))
    await asyncio.gather(*(get(m, f"{API}/meetings/{i}", headers=auth()) for i in range(10)))  # warm pools
    await m.kill("b")
    results = await asyncio.gather(*(get(m, f"{API}/meetings/{i}", headers=auth()) for i in range(30)))
    assert {(s, b["instance"]) for s, b, _ in results} == {(200, "a")}


async def test_draining_instances_take_no_new_requests(m: Mesh) -> None:
    await m.start_gateway()
    await m.start("meetings", "a", upstream("a"), draining=True)
    await m.start("meetings", "b", upstream("b"))
    assert {(await get(m, f"{API}/meetings/{i}", headers=auth()))[1]["instance"] for i in range(4)} == {"b"}


async def test_a_service_without_instances_falls_back_to_the_all_in_one(m: Mesh) -> None:
    await m.start_gateway()
    await m.start("allinone", "all", upstream("all"))
    status, body, _ = await get(m, f"{API}/meetings/abc", headers=auth())
    assert (status, body["instance"]) == (200, "all")
    await m.start("meetings", "m1", upstream("m1"))
    assert (await get(m, f"{API}/meetings/abc", headers=auth()))[1]["instance"] == "m1"


async def test_protected_routes_need_a_valid_token_at_the_edge(m: Mesh) -> None:
    hits: list[str] = []
    await m.start_gateway()
    await m.start("meetings", "m1", upstream("m1", hits))
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": f"Bearer {access_token(secret='x' * 40)}"}):
        status, body, _ = await get(m, f"{API}/meetings/abc", headers=headers)
        assert status == 401 and body["error"]["code"] in ("invalid_token", "unauthenticated"), body
    assert hits == []  # refused at the edge


async def test_public_routes_pass_without_a_token(m: Mesh) -> None:
    hits: list[str] = []
    await m.start_gateway()
    await m.start("users", "u1", upstream("u1", hits))
    async with m.session.post(f"{m.url}{API}/auth/login", json={}) as r:
        assert r.status == 200 and (await r.json())["instance"] == "u1"
    async with m.session.post(f"{m.url}{API}/auth/login", json={}, headers={"Authorization": "Bearer stale"}) as r:
        assert r.status == 200  # a stale token does not stop a login
    assert hits == [f"{API}/auth/login"] * 2


async def test_unknown_paths_are_404_at_the_edge_and_the_gateway_answers_its_own_health(m: Mesh) -> None:
    await m.start_gateway()
    status, body, _ = await get(m, f"{API}/no-such-thing", headers=auth())
    assert status == 404 and body["error"]["code"] == "not_found"
    assert (await get(m, "/health"))[0] == 200
    status, body, _ = await get(m, "/ready")
    assert status == 200 and body["status"] == "ready"
    status, doc, _ = await get(m, f"{API}/openapi.json")
    assert status == 200 and f"{API}/meetings/{{id}}" in doc["paths"] and "/ws/signaling" in doc["paths"]


async def test_the_web_client_is_served_by_the_gateway(m: Mesh) -> None:
    await m.start_gateway()
    status, body, headers = await get(m, "/")
    assert status == 200 and b"<html" in body.lower() and "Content-Security-Policy" in headers


async def test_the_rate_limit_per_address_is_429_with_retry_after(m: Mesh) -> None:
    hits: list[str] = []
    await m.start_gateway(APP_GATEWAY_RATE_PER_ADDRESS="3")
    await m.start("meetings", "m1", upstream("m1", hits))
    statuses = [(await get(m, f"{API}/meetings/{i}", headers=auth()))[0] for i in range(3)]
    status, body, headers = await get(m, f"{API}/meetings/x", headers=auth())
    assert statuses == [200] * 3 and status == 429 and int(headers["Retry-After"]) >= 1
    assert body["error"]["code"] == "attempts_exhausted" and len(hits) == 3


async def test_the_rate_limit_per_user_counts_each_user_apart(m: Mesh) -> None:
    await m.start_gateway(APP_GATEWAY_RATE_PER_USER="2")
    await m.start("meetings", "m1", upstream("m1"))
    alice = [(await get(m, f"{API}/meetings/{i}", headers=auth("alice")))[0] for i in range(3)]
    bob = [(await get(m, f"{API}/meetings/{i}", headers=auth("bob")))[0] for i in range(2)]
    assert alice == [200, 200, 429] and bob == [200, 200]


async def test_cors_preflights_are_answered_at_the_edge(m: Mesh) -> None:
    hits: list[str] = []
    await m.start_gateway(APP_CORS_ORIGINS="https://app.example")
    await m.start("meetings", "m1", upstream("m1", hits))
    pre = {"Access-Control-Request-Method": "GET"}
    async with m.session.options(f"{m.url}{API}/meetings/x", headers={"Origin": "https://app.example", **pre}) as r:
        assert r.status == 204 and r.headers["Access-Control-Allow-Origin"] == "https://app.example"
    async with m.session.options(f"{m.url}{API}/meetings/x", headers={"Origin": "https://evil.example", **pre}) as r:
        assert r.status == 403
    status, _, headers = await get(m, f"{API}/meetings/x", headers={"Origin": "https://app.example", **auth()})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert hits == [f"{API}/meetings/x"]


# -- WebSocket -------------------------------------------------------------------------------------------

async def test_websocket_frames_pass_both_ways_with_the_subprotocol(m: Mesh) -> None:
    await m.start_gateway()
    await m.start("signaling", "s1", upstream("s1"))
    async with m.session.ws_connect(f"{m.url}/ws/signaling", protocols=("confero.v1",)) as ws:
        assert ws.protocol == "confero.v1"
        await ws.send_str("hello")
        assert (await ws.receive_str(timeout=5)) == "echo:hello"
        await ws.send_str("who")
        assert (await ws.receive_str(timeout=5)) == "s1"


async def test_an_upstream_close_code_reaches_the_client(m: Mesh) -> None:
    await m.start_gateway()
    await m.start("signaling", "s1", upstream("s1"))
    async with m.session.ws_connect(f"{m.url}/ws/signaling") as ws:
        await ws.send_str("close:4003:kicked")
        msg = await ws.receive(timeout=5)
        assert (msg.type, msg.data, msg.extra) == (aiohttp.WSMsgType.CLOSE, 4003, "kicked")


async def test_a_client_close_code_reaches_the_upstream(m: Mesh) -> None:
    await m.start_gateway()
    app = upstream("s1")
    await m.start("signaling", "s1", app)
    ws = await m.session.ws_connect(f"{m.url}/ws/signaling")
    await ws.send_str("x")
    await ws.receive_str(timeout=5)
    await ws.close(code=4100, message=b"bye")
    async with asyncio.timeout(5):
        while not app[CLOSES]:
            await asyncio.sleep(0.02)
    assert app[CLOSES] == [4100]


async def test_an_upstream_that_dies_closes_the_client_socket(m: Mesh) -> None:
    await m.start_gateway()
    await m.start("signaling", "s1", upstream("s1"))
    ws = await m.session.ws_connect(f"{m.url}/ws/signaling")
    await ws.send_str("die")
    msg = await ws.receive(timeout=5)
    assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 1014)  # bad gateway
    await ws.close()


async def test_an_upstream_refusing_the_upgrade_gives_its_status(m: Mesh) -> None:
    await m.start_gateway()
    await m.start("signaling", "s1", upstream("s1"))
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await m.session.ws_connect(f"{m.url}/ws/signaling", headers={"Authorization": "Bearer refuse-me"})
    assert refused.value.status == 401


async def test_a_websocket_with_no_signaling_instance_is_503(m: Mesh) -> None:
    await m.start_gateway()
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await m.session.ws_connect(f"{m.url}/ws/signaling")
    assert refused.value.status == 503


@pytest.fixture
def m(mesh: Mesh) -> Mesh:  # noqa: F811
    return mesh


@pytest.mark.parametrize("path", [f"{API}/recording-files/../meetings/x", f"{API}/recording-files/%2E%2E/meetings/x",
                                  f"{API}/auth/login/..%2F..%2Fmeetings/x", f"{API}/recording-files%2F..%2Fmeetings%2Fx"])
async def test_a_public_path_cannot_be_bent_into_a_protected_one(m: Mesh, path: str) -> None:
    hits: list[str] = []
    await m.start_gateway()
    await m.start("meetings", "m1", upstream("m1", hits))
    async with m.session.get(yarl.URL(m.url + path, encoded=True)) as r:
        assert r.status in (401, 404), await r.text()
    assert f"{API}/meetings/x" not in hits


async def test_a_gateway_that_stops_tells_both_sides_of_a_socket_to_go(m: Mesh) -> None:
    await m.start_gateway()
    app = upstream("s1")
    await m.start("signaling", "s1", app)
    ws = await m.session.ws_connect(f"{m.url}/ws/signaling")
    await ws.send_str("x")
    await ws.receive_str(timeout=5)
    assert m.server is not None
    async with asyncio.timeout(5):  # the shutdown timeout (10 s) would pass without the on_shutdown hook
        stopping = asyncio.create_task(m.server.close())
        msg = await ws.receive()
        await stopping
        while not app[CLOSES]:
            await asyncio.sleep(0.02)
    assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 1001) and app[CLOSES] == [1001]
