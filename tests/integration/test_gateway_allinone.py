"""The real all-in-one behind the gateway, both on 127.0.0.1: the scripted session (register, verify,
log in, create a meeting, join its room over /ws/signaling, a kick and its
close code) goes through the gateway only."""

from __future__ import annotations

import attrs
from aiohttp.test_utils import TestClient

from tests.unit.gateway_support import SECRET, Mesh, mesh  # noqa: F401  (fixture)
from tests.unit.signaling_support import Signaling, SignalingFactory, signaling_factory, web_factory  # noqa: F401
from tests.unit.web_support import API


async def test_a_meeting_session_through_the_gateway(mesh: Mesh, signaling_factory: SignalingFactory) -> None:  # noqa: F811
    direct = await signaling_factory(APP_JWT_SECRET=SECRET)
    await mesh.start_gateway()
    await mesh.register("allinone", "all-1", f"127.0.0.1:{direct.web.client.port}")
    assert mesh.server is not None
    gateway = TestClient(mesh.server)
    try:
        s = Signaling(attrs.evolve(direct.web, client=gateway))
        ann, bob = await s.web.user("ann"), await s.web.user("bob")
        mid = await s.meeting(ann)
        assert (await s.web.get_meeting(bob, mid))["id"] == mid
        a, first = await s.member(ann, mid)
        b, second = await s.member(bob, mid)
        assert [m["user_id"] for m in second["members"]] == [ann.id]
        joined = await a.next("member_joined")
        assert joined["data"]["user_id"] == bob.id
        assert await s.participants(ann, mid) == {ann.id, bob.id}
        reply = await s.web.call("GET", f"{API}/meetings/{mid}")  # no token: refused at the edge
        assert reply.status == 401 and reply.code in ("invalid_token", "unauthenticated")
        await s.host_action(ann, f"{mid}/participants/{bob.id}/kick")
        assert (await b.next("kicked"))["data"] == {"room_id": mid, "by": ann.id}
        assert await b.closed() == 4001  # the service's close code, through the gateway
        left = await a.next("member_left")
        assert left["data"] == {"room_id": mid, "user_id": bob.id, "reason": "kicked"}
        await a.ws.close()
    finally:
        await gateway.session.close()
