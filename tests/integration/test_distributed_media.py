"""Media of a meeting spread over processes (issue 14), in a private network namespace: etcd and Redis of
the scenario's own (the machine's cannot be reached from inside the namespace), PostgreSQL through its
Unix socket (not networked), and users, meetings, two signaling processes without a database
(APP_MEDIA_NODES=etcd), two media nodes (``python -m runners.media``) and the gateway, each its own process
(tests/support/distributed.py).

``python -m tests.integration.test_distributed_media scenario DSN`` runs under ``unshare -n``: Ann and Bob
sign up through the gateway and open their sockets through it, which puts them on different signaling
processes; each is an aiortc member publishing audio and marked video (tests/support/sfu_member.py).
Once each receives the other's video, the media node holding the room (its placement, in Redis) is
killed (kill -9): both get ``media_reset``, offer again, the room goes to the other node, and each
receives the other's video again.  Then a kick and the meeting's end, through the meetings service and
consumed by whichever signaling process, reach the node that now holds the room.  One RESULT line says what happened and how long media took to come
back (reported, never asserted).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
import time
import traceback
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.netns import allow_loopback_candidates, emit_result, require_unshare, run_module

MODULE = "tests.integration.test_distributed_media"
PASSWORD = "correct horse battery staple"
WAIT = 90.0  # a bound for a broken run, never an expected duration
SOCKET_DIR = "/var/run/postgresql"


def unix_socket_dsn(dsn: str) -> str:
    """The same PostgreSQL server and database through its Unix socket, which a network namespace does not
    hide."""
    parts = urlsplit(dsn)
    port = parts.port or 5432
    if not os.path.exists(f"{SOCKET_DIR}/.s.PGSQL.{port}"):
        pytest.fail(f"PostgreSQL has no Unix socket in {SOCKET_DIR} for port {port}: the media scenario runs in a "
                    "private network namespace and reaches it only through that socket")
    user = f"{parts.username}{':' + parts.password if parts.password else ''}@" if parts.username else ""
    return f"postgresql://{user}{parts.path}?host={SOCKET_DIR}&port={port}"


@pytest.fixture
def netns_capable() -> None:
    require_unshare()


@pytest.mark.usefixtures("netns_capable")
@pytest.mark.timeout(700)  # the scenario starts nine processes and servers one after another
def test_members_on_two_signaling_processes_see_each_other_and_get_media_back_when_their_node_is_killed(
        postgres_server_dsn):
    result, output = run_module(MODULE, "scenario", unix_socket_dsn(postgres_server_dsn), timeout=600)
    print(f"media back {result['media_back_s']} s after kill -9 of the node holding the room", result)
    assert result["sockets"] == [1, 1]  # the gateway put Ann and Bob on different signaling processes
    assert result["video_before"]["ann"] > 0 and result["video_before"]["bob"] > 0
    assert result["placed_before"] in result["nodes"] and result["placed_after"] in result["nodes"]
    assert result["placed_after"] != result["placed_before"]
    assert result["resets"] == {"ann": ["node_lost"], "bob": ["node_lost"]}
    assert result["video_after"]["ann"] > 0 and result["video_after"]["bob"] > 0
    # On the node that holds the room now: both, then Ann once Bob was kicked, then nobody once it ended.
    assert result["node_members"] == result["expected_node_members"]


# --- the scenario (inside the namespace) --------------------------------------------------------------

async def _user(api: Any, name: str) -> str:
    body = {"username": f"{name}{uuid.uuid4().hex[:6]}", "password": PASSWORD}
    status, _ = await api.call("POST", "/api/v1/auth/register", json=body | {"email": f"{body['username']}@example.com"})
    assert status == 201
    status, tokens = await api.call("POST", "/api/v1/auth/login", json=body)
    assert status == 200, tokens
    return tokens["access_token"]  # type: ignore[no-any-return]


async def _until(condition: Any) -> None:
    async with asyncio.timeout(WAIT):
        while not await condition():
            await asyncio.sleep(0.1)


async def scenario(dsn: str) -> dict[str, Any]:
    import aiohttp
    from redis.asyncio import Redis

    from adapters.grpc.media import GrpcMediaServer
    from adapters.redis.placement import RedisRoomPlacement
    from domain.shared.ids import MeetingId
    from tests.support.distributed import cluster, fresh_database, own_etcd, redis_server, signaling_sockets
    from tests.support.media_nodes import eventually
    from tests.support.scripted import Api
    from tests.support.sfu_member import SfuMember, follow_socket, over_socket
    from tests.support.signaling_client import SignalingClient

    temporary = tempfile.TemporaryDirectory(prefix="confero-distributed-media-", ignore_cleanup_errors=True)
    work = Path(temporary.name)  # its logs' tails are printed when the scenario fails
    media_env = {"APP_MEDIA_HOST_ADDRESSES": "127.0.0.1", "APP_RECORDINGS_DIR": str(work / "recordings")}
    with temporary, redis_server(work) as redis_url, own_etcd(work / "etcd") as etcd:
        async with fresh_database(dsn) as data:
            with cluster(work, data, redis_url, etcd, media=2, signaling=2, media_extra=media_env) as c:
                try:
                    async with aiohttp.ClientSession() as s, Redis.from_url(redis_url) as redis:
                        async with asyncio.timeout(WAIT):
                            while True:
                                async with s.get(f"{c.gateway}/ready") as r:
                                    if r.status == 200:
                                        break
                                await asyncio.sleep(0.2)
                        api = Api(s, c.gateway)
                        ann, bob = await _user(api, "ann"), await _user(api, "bob")
                        status, meeting = await api.call("POST", "/api/v1/meetings", ann, {"title": "Media"})
                        assert status == 201, meeting
                        room = meeting["id"]
                        a = await SignalingClient.connect(s, c.gateway + "/ws/signaling", ann)
                        b = await SignalingClient.connect(s, c.gateway + "/ws/signaling", bob)
                        sockets = sorted(signaling_sockets(m) for m in c.of("signaling"))
                        for client in (a, b):
                            joined = await client.request("join_room", {"room_id": room}, timeout=20)
                            assert joined["type"] == "room_state", joined
                        members = {"ann": SfuMember(a.user_id, over_socket(a, room)),
                                   "bob": SfuMember(b.user_id, over_socket(b, room))}
                        followers = [asyncio.ensure_future(follow_socket(members["ann"], a)),
                                     asyncio.ensure_future(follow_socket(members["bob"], b))]
                        for m in members.values():
                            await m.join()
                        await eventually(lambda: all(m.frames_in(1) > 10 for m in members.values()), bound=WAIT)
                        video_before = {k: m.frames_in(1) for k, m in members.items()}
                        placement = RedisRoomPlacement(redis)
                        before = await placement.node_of(MeetingId(room))
                        victim = next(n for n in c.of("media") if n.instance_id == before)

                        killed = time.monotonic()
                        victim.kill()
                        await eventually(lambda: all(m.frames_in(2) > 10 for m in members.values()), bound=WAIT)
                        back = max(m.first_frame[2] for m in members.values()) - killed
                        result = {
                            "sockets": sockets, "nodes": [n.instance_id for n in c.of("media")],
                            "placed_before": before, "placed_after": await placement.node_of(MeetingId(room)),
                            "video_before": video_before,
                            "video_after": {k: m.frames_in(2) for k, m in members.items()},
                            "resets": {k: [r for r, _ in m.resets] for k, m in members.items()},
                            "reset_after_s": round(max(t for m in members.values() for _, t in m.resets) - killed, 3),
                            "media_back_s": round(back, 3), "load_average": os.getloadavg()[0]}

                        # A kick and the meeting's end, consumed by whichever signaling process, reach the node.
                        node = next(n for n in c.of("media") if n.instance_id == result["placed_after"])
                        sfu = GrpcMediaServer.to(node.grpc, token=c.env["APP_SERVICE_SECRETS"])
                        held: list[list[str]] = []

                        async def on_node(expected: list[str]) -> bool:
                            held.append(sorted(st.user_id for st in await sfu.stats(MeetingId(room))))
                            return held[-1] == expected

                        await _until(lambda: on_node(sorted([a.user_id, b.user_id])))
                        status, _ = await api.call("POST", f"/api/v1/meetings/{room}/participants/{b.user_id}/kick", ann)
                        assert status == 200
                        await _until(lambda: on_node([a.user_id]))
                        status, _ = await api.call("POST", f"/api/v1/meetings/{room}/end", ann)
                        assert status == 200
                        await _until(lambda: on_node([]))
                        result["node_members"] = [held[0], [a.user_id], []]
                        result["expected_node_members"] = [sorted([a.user_id, b.user_id]), [a.user_id], []]
                        await sfu.close()
                        for f in followers:
                            f.cancel()
                        for m in members.values():
                            await m.close()
                        with contextlib.suppress(Exception):
                            await a.close()
                            await b.close()
                        return result
                except BaseException:
                    traceback.print_exc()
                    for log in sorted(work.glob("*.log")):
                        print(f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-25:]))
                    raise


if __name__ == "__main__":
    if sys.argv[1] == "scenario":
        allow_loopback_candidates()
        emit_result(asyncio.run(scenario(sys.argv[2])))
