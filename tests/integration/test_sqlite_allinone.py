"""The embedded all-in-one with ``APP_SQLITE_PATH``: a real process, stopped and started again on one file."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import sys

import aiohttp

from tests.support.process import ROOT, allinone
from tests.support.scripted import Api, check_session_survived, scripted_session
from tests.support.signaling_client import SignalingClient


async def register_and_login(api: Api, name: str, password: str) -> dict:
    status, _ = await api.call("POST", "/api/v1/auth/register",
                               json={"username": name, "email": f"{name}@example.com", "password": password})
    assert status == 201
    status, tokens = await api.call("POST", "/api/v1/auth/login", json={"username": name, "password": password})
    assert status == 200
    return tokens


async def test_accounts_and_sessions_survive_a_restart_of_the_embedded_process(tmp_path):
    env = {"APP_ADAPTERS": "memory", "APP_SQLITE_PATH": str(tmp_path / "demo.sqlite3"),
           # A fixed key, so that tokens issued before the restart can still be verified after it.
           "APP_JWT_SECRET": "a-laptop-demo-secret-that-is-long-enough-0123", "APP_FAST_PASSWORD_HASHING": "true"}
    with allinone(env, tmp_path / "first.log") as base:
        async with aiohttp.ClientSession() as s:
            api = Api(s, base)
            alice = await register_and_login(api, "alice", "correct horse 1")
            bob = await register_and_login(api, "bob", "correct horse 2")
            status, _ = await api.call("POST", "/api/v1/auth/logout", bob["access_token"],
                                       {"refresh_token": bob["refresh_token"]})
            assert status == 204
    with allinone(env, tmp_path / "second.log") as base:
        async with aiohttp.ClientSession() as s:
            api = Api(s, base)
            status, me = await api.call("GET", "/api/v1/users/me", alice["access_token"])
            assert (status, me["username"]) == (200, "alice")
            status, fresh = await api.call("POST", "/api/v1/auth/refresh", json={"refresh_token": alice["refresh_token"]})
            assert status == 200 and fresh["refresh_token"] != alice["refresh_token"]
            status, err = await api.call("POST", "/api/v1/auth/refresh", json={"refresh_token": bob["refresh_token"]})
            assert status == 401, err
            status, again = await api.call("POST", "/api/v1/auth/login",
                                           json={"username": "bob@example.com", "password": "correct horse 2"})
            assert status == 200 and again["user"]["id"] == bob["user"]["id"]
            status, err = await api.call("POST", "/api/v1/auth/register", json={
                "username": "ALICE", "email": "other@example.com", "password": "correct horse 3"})
            assert (status, err["error"]["code"]) == (409, "username_taken")


async def test_without_the_setting_nothing_survives_a_restart(tmp_path):
    env = {"APP_ADAPTERS": "memory", "APP_FAST_PASSWORD_HASHING": "true"}
    for log in ("first.log", "second.log"):
        with allinone(env, tmp_path / log) as base:
            async with aiohttp.ClientSession() as s:
                await register_and_login(Api(s, base), "carol", "correct horse 4")


def test_the_setting_is_refused_in_production_with_a_one_line_error(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "APP_ADAPTERS": "production", "APP_JWT_SECRET": "x" * 40,
           "APP_POSTGRES_DSN": "postgresql://nobody@127.0.0.1:1/x", "APP_REDIS_URL": "redis://127.0.0.1:1/0",
           "APP_SQLITE_PATH": str(tmp_path / "x.sqlite3")}
    result = subprocess.run([sys.executable, "-m", "runners.allinone"], cwd=ROOT, capture_output=True, text=True,
                            env=env, timeout=30)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("configuration error: ") and "APP_SQLITE_PATH is for APP_ADAPTERS=memory" in line


def test_a_path_in_a_missing_folder_stops_the_process_with_a_clear_line(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "APP_SQLITE_PATH": str(tmp_path / "missing" / "x.sqlite3")}
    result = subprocess.run([sys.executable, "-m", "runners.allinone"], cwd=ROOT, capture_output=True, text=True,
                            env=env, timeout=30)
    assert result.returncode == 3
    assert "cannot start: the database folder does not exist" in result.stderr


async def test_the_scripted_session_and_its_meeting_survive_a_restart(tmp_path):
    env = {"APP_ADAPTERS": "memory", "APP_SQLITE_PATH": str(tmp_path / "demo.sqlite3")}
    with allinone(env, tmp_path / "first.log") as base:
        async with aiohttp.ClientSession() as s:
            facts = await scripted_session(Api(s, base), "s")
    with allinone(env, tmp_path / "second.log") as base:
        async with aiohttp.ClientSession() as s:
            api = Api(s, base)
            h = await check_session_survived(api, facts)
            status, mine = await api.call("GET", "/api/v1/meetings?relation=hosted", h["access_token"])
            assert status == 200 and [m["id"] for m in mine["items"]] == [facts["meeting_id"]]


async def test_a_kick_reaches_the_members_socket_through_the_sqlite_outbox(tmp_path):
    """HTTP kick -> unit of work -> SQLite outbox -> relay -> event feed -> the kicked member's socket."""
    env = {"APP_ADAPTERS": "memory", "APP_SQLITE_PATH": str(tmp_path / "demo.sqlite3"),
           "APP_FAST_PASSWORD_HASHING": "true"}
    with allinone(env, tmp_path / "allinone.log") as base:
        async with aiohttp.ClientSession() as s:
            api = Api(s, base)
            ann = await register_and_login(api, "ann", "correct horse 5")
            bob = await register_and_login(api, "bob", "correct horse 6")
            status, meeting = await api.call("POST", "/api/v1/meetings", ann["access_token"], {"title": "Kick"})
            assert status == 201
            a = await SignalingClient.connect(s, base + "/ws/signaling", ann["access_token"])
            b = await SignalingClient.connect(s, base + "/ws/signaling", bob["access_token"])
            assert (await a.request("join_room", {"room_id": meeting["id"]}))["type"] == "room_state"
            assert (await b.request("join_room", {"room_id": meeting["id"]}))["type"] == "room_state"
            status, _ = await api.call("POST", f"/api/v1/meetings/{meeting['id']}/participants/{b.user_id}/kick",
                                       ann["access_token"])
            assert status == 200
            assert (await b.next("kicked", timeout=10))["data"]["room_id"] == meeting["id"]
            closed = await b.ws.receive(timeout=5)
            assert closed.type == aiohttp.WSMsgType.CLOSE and closed.data == 4001
            assert (await a.next("member_left", timeout=10))["data"]["reason"] == "kicked"
            await a.close()
    with contextlib.closing(sqlite3.connect(env["APP_SQLITE_PATH"])) as db:  # the process holds it until it stops
        kicks = db.execute("SELECT payload, sent_at IS NOT NULL FROM outbox"
                           " WHERE name = 'meeting.participant_kicked'").fetchall()
    assert [(json.loads(p)["user_id"], sent) for p, sent in kicks] == [(b.user_id, 1)]


def test_a_second_process_on_the_same_file_stops_with_a_clear_line(tmp_path):
    env = {"APP_ADAPTERS": "memory", "APP_SQLITE_PATH": str(tmp_path / "demo.sqlite3")}
    with allinone(env, tmp_path / "first.log"):
        result = subprocess.run([sys.executable, "-m", "runners.allinone"], cwd=ROOT, capture_output=True, text=True,
                                env={"PATH": "/usr/bin:/bin", **env}, timeout=60)
    assert result.returncode == 3
    assert "cannot start: the database file is in use by another process" in result.stderr
