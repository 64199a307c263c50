"""The embedded all-in-one with ``APP_SQLITE_PATH``: a real process, stopped and started again on one file."""

from __future__ import annotations

import subprocess
import sys

import aiohttp

from tests.support.process import ROOT, allinone
from tests.support.scripted import Api, scripted_session


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
    assert result.stderr.strip().splitlines() == [
        "configuration error: APP_SQLITE_PATH is for APP_ADAPTERS=memory (production keeps its data in PostgreSQL)"]


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
            status, h = await api.call("POST", "/api/v1/auth/login",
                                       json={"username": facts["host"]["email"], "password": facts["host"]["password"]})
            assert status == 200
            status, meeting = await api.call("GET", f"/api/v1/meetings/{facts['meeting_id']}", h["access_token"])
            assert status == 200 and meeting["kicked_user_ids"] == [facts["guest_id"]]
            status, mine = await api.call("GET", "/api/v1/meetings?relation=hosted", h["access_token"])
            assert status == 200 and [m["id"] for m in mine["items"]] == [facts["meeting_id"]]
            status, g = await api.call("POST", "/api/v1/auth/login", json={
                "username": facts["guest"]["username"], "password": facts["guest"]["password"]})
            assert status == 200
            status, err = await api.call("POST", f"/api/v1/meetings/{facts['meeting_id']}/join",
                                         g["access_token"], {"password": "s3cret"})
            assert (status, err["error"]["code"]) == (403, "kicked_from_meeting")
