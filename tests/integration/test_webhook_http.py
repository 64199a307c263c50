"""Webhooks through the real application in process (memory adapters, the real worker): administrators
register an endpoint over HTTP, a meeting starts, the receiver on 127.0.0.1 gets signed deliveries and
the delivery log shows them; bad input gets clear 4xx."""

from __future__ import annotations

import pytest

from tests.support.webhook_receiver import Receiver
from tests.unit.web_support import API, web_factory  # noqa: F401  (fixtures)

HOOKS = f"{API}/admin/webhooks"


@pytest.fixture
async def receiver():
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


async def test_a_meeting_that_starts_reaches_the_registered_endpoint_signed(web_factory, receiver):
    web = await web_factory(APP_WEBHOOK_POLL_SECONDS="0.05")
    admin, host = await web.admin(), await web.user("host")
    created = await web.ok("POST", HOOKS, 201, who=admin, json={
        "url": receiver.url, "kinds": ["participant.joined", "meeting.started"], "description": "CRM"})
    receiver.secret = created["secret"]
    assert created["secret"].startswith("whsec_") and created["endpoint"]["kinds"] == [
        "meeting.started", "participant.joined"]
    endpoint_id = created["endpoint"]["id"]
    listed = await web.ok("GET", HOOKS, who=admin)
    assert listed["total"] == 1 and "secret" not in listed["items"][0]
    meeting = await web.meeting(host, title="Launch")
    await web.join(host, meeting["id"])
    await receiver.wait_for(2)
    assert sorted(r["body"]["type"] for r in receiver.received) == ["meeting.started", "participant.joined"]
    assert {r["body"]["data"]["meeting_id"] for r in receiver.received} == {meeting["id"]}
    assert receiver.refused == 0
    log = await web.ok("GET", f"{HOOKS}/{endpoint_id}/deliveries", who=admin)
    assert log["total"] == 2 and {d["status"] for d in log["items"]} == {"delivered"}
    again = await web.ok("POST", f"{HOOKS}/{endpoint_id}/deliveries/{log['items'][0]['id']}/redeliver", 202,
                         who=admin)
    assert again["redelivery_of"] == log["items"][0]["id"]
    await receiver.wait_for(3)
    rotated = await web.ok("POST", f"{HOOKS}/{endpoint_id}/rotate-secret", who=admin)
    assert rotated["secret"] != created["secret"]
    await web.ok("DELETE", f"{HOOKS}/{endpoint_id}", 204, who=admin)
    assert (await web.call("GET", f"{HOOKS}/{endpoint_id}", who=admin)).code == "webhook_endpoint_not_found"


async def test_bad_webhook_input_gets_clear_4xx(web_factory):
    web = await web_factory()
    admin = await web.admin()
    for body, code in (
        ({"url": "ftp://hooks.example.com/", "kinds": ["meeting.started"]}, "invalid_webhook_endpoint"),
        ({"url": "http://hooks.example.com/", "kinds": ["meeting.started"]}, "invalid_webhook_endpoint"),
        ({"url": "https://hooks.example.com/", "kinds": []}, "invalid_request"),
        ({"url": "https://hooks.example.com/", "kinds": ["meeting.created"]}, "invalid_request"),
        ({"url": "https://hooks.example.com/"}, "invalid_request"),
        ({"url": "https://hooks.example.com/", "kinds": ["meeting.started"], "secret": "mine"}, "invalid_request"),
    ):
        reply = await web.call("POST", HOOKS, who=admin, json=body)
        assert (reply.status, reply.code) == (422, code), body
    created = await web.ok("POST", HOOKS, 201, who=admin,
                           json={"url": "https://hooks.example.com/", "kinds": ["meeting.ended"]})
    endpoint_id = created["endpoint"]["id"]
    reply = await web.call("PUT", f"{HOOKS}/{endpoint_id}", who=admin, json={})
    assert (reply.status, reply.code) == (422, "invalid_request")
    reply = await web.call("PUT", f"{HOOKS}/{endpoint_id}", who=admin, json={"description": "x\u0000y"})
    assert (reply.status, reply.code) == (422, "invalid_webhook_endpoint")
    assert (await web.call("GET", f"{HOOKS}/not-an-id", who=admin)).status == 404
    missing = await web.call("GET", f"{HOOKS}/00000000-0000-4000-8000-000000000000/deliveries", who=admin)
    assert (missing.status, missing.code) == (404, "webhook_endpoint_not_found")
    updated = await web.ok("PUT", f"{HOOKS}/{endpoint_id}", who=admin, json={"enabled": False})
    assert (updated["enabled"], updated["disabled_reason"]) == (False, "disabled by an administrator")
