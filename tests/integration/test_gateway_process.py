"""`python -m runners.gateway` as a process in front of `python -m runners.allinone` (fixed upstream,
APP_GATEWAY_UPSTREAMS): the scripted session and a signaling socket through it; the upstream killed: 502."""

from __future__ import annotations

import json
import secrets
import signal

import aiohttp

from tests.support.process import allinone, process
from tests.support.scripted import Api, scripted_session


async def test_the_gateway_process_serves_the_session_and_reports_a_dead_upstream(tmp_path):
    secret = secrets.token_urlsafe(40)
    with process({"APP_ADAPTERS": "memory", "APP_JWT_SECRET": secret, "APP_METRICS_PORT": "0"},
                 tmp_path / "allinone.log") as (upstream, upstream_proc):
        env = {"APP_JWT_SECRET": secret, "APP_GATEWAY_UPSTREAMS": f"allinone={upstream.removeprefix('http://')}",
               "APP_METRICS_PORT": "0"}
        with allinone(env, tmp_path / "gateway.log", module="runners.gateway",
                      port_variable="APP_GATEWAY_PORT") as base:
            async with aiohttp.ClientSession() as s:
                facts = await scripted_session(Api(s, base), "g")
                async with s.get(f"{base}/ready") as r:
                    assert r.status == 200
                host = facts["host"]
                status, tokens = await Api(s, base).call("POST", "/api/v1/auth/login", json={
                    "username": host["username"], "password": host["password"]})
                assert status == 200
                async with s.ws_connect(f"{base}/ws/signaling") as ws:
                    await ws.send_str(json.dumps({"v": 1, "type": "auth", "data": {"token": tokens["access_token"]}}))
                    msg = json.loads(await ws.receive_str(timeout=10))
                    assert msg["type"] == "welcome" and msg["data"]["user_id"] == tokens["user"]["id"]
                upstream_proc.send_signal(signal.SIGKILL)
                upstream_proc.wait(10)
                async with s.get(f"{base}/api/v1/users/me",
                                 headers={"Authorization": "Bearer x"}) as r:
                    assert r.status == 401  # refused at the edge, upstream or not
                async with s.post(f"{base}/api/v1/auth/login", json={"username": "a", "password": "b"}) as r:
                    body = await r.json()
                    assert r.status == 502 and body["error"]["code"] == "bad_gateway", body
