"""The physical limit of the API benchmark: a bare aiohttp handler doing only the work a request cannot
avoid: verify the access JWT, look its session up in Redis once, and run only the unavoidable SQL
(create: one transaction with the meeting row and its outbox row; get: one SELECT by key).

Its own tables (``limit_meetings``, ``limit_outbox``) have the meeting's scalar columns and the outbox's
columns, so the limit does not depend on the application's schema of the day.
``python bench/limit.py PORT POSTGRES_DSN REDIS_URL JWT_SECRET``
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import uuid
from pathlib import Path

import asyncpg
from aiohttp import web
from redis.asyncio import Redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from adapters.crypto.jwt import JwtTokenCodec  # noqa: E402

SCHEMA = """
CREATE TABLE IF NOT EXISTS limit_meetings (
    id text COLLATE "C" PRIMARY KEY, host_id text NOT NULL, title text NOT NULL, description text NOT NULL,
    start_time timestamptz NOT NULL, duration_minutes integer NOT NULL, capacity integer NOT NULL,
    password_hash text, mute_on_join boolean NOT NULL, allow_recording boolean NOT NULL,
    invite_only boolean NOT NULL, status text NOT NULL, locked boolean NOT NULL, created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL, started_at timestamptz, ended_at timestamptz, version integer NOT NULL);
CREATE TABLE IF NOT EXISTS limit_outbox (
    position bigserial PRIMARY KEY, event_id text NOT NULL, name text NOT NULL, occurred_at timestamptz NOT NULL,
    payload jsonb NOT NULL, committed_at timestamptz NOT NULL DEFAULT now(), sent_at timestamptz);
"""
INSERT = ("INSERT INTO limit_meetings VALUES ($1, $2, $3, '', $4, 60, 100, NULL, false, true, false, 'scheduled',"
          " false, $4, $4, NULL, NULL, 0)")
OUTBOX = "INSERT INTO limit_outbox (event_id, name, occurred_at, payload) VALUES ($1, 'meeting.created', $2, $3)"
POOL = web.AppKey("pool", asyncpg.Pool)
REDIS = web.AppKey("redis", Redis)
CODEC = web.AppKey("codec", JwtTokenCodec)


async def authenticate(request: web.Request) -> str:
    token = request.headers.get("Authorization", "").removeprefix("Bearer ")
    claims = request.app[CODEC].decode_access(token, dt.datetime.now(dt.timezone.utc))
    if await request.app[REDIS].hget(f"confero:session:{claims.session_id}", "user_id") != claims.user_id:
        raise web.HTTPUnauthorized()
    return claims.user_id


async def create(request: web.Request) -> web.Response:
    user_id = await authenticate(request)
    body = await request.json()
    meeting_id, now = str(uuid.uuid4()), dt.datetime.now(dt.timezone.utc)
    async with request.app[POOL].acquire() as conn, conn.transaction():
        await conn.execute(INSERT, meeting_id, user_id, body["title"], now)
        await conn.execute(OUTBOX, str(uuid.uuid4()), now, json.dumps({"meeting_id": meeting_id, "host_id": user_id}))
    return web.json_response({"id": meeting_id, "title": body["title"], "host_id": user_id}, status=201)


async def get(request: web.Request) -> web.Response:
    await authenticate(request)
    row = await request.app[POOL].fetchrow("SELECT * FROM limit_meetings WHERE id = $1", request.match_info["id"])
    if row is None:
        raise web.HTTPNotFound()
    return web.json_response({k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in row.items()})


async def resources(app: web.Application) -> object:
    dsn, redis_url, secret = sys.argv[2:5]
    app[POOL] = await asyncpg.create_pool(dsn, min_size=2, max_size=10)
    await app[POOL].execute(SCHEMA)
    app[REDIS] = Redis.from_url(redis_url, decode_responses=True)
    app[CODEC] = JwtTokenCodec(secret)
    yield
    await app[POOL].close()
    await app[REDIS].aclose()


app = web.Application()
app.cleanup_ctx.append(resources)
app.router.add_post("/meetings", create)
app.router.add_get("/meetings/{id}", get)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
