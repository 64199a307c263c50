"""The notification routes and the live `notification` frame, on the all-in-one app (memory family,
emails as .eml files)."""

from __future__ import annotations

import asyncio
import email
import email.policy
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.unit.signaling_support import Signaling, signaling, signaling_factory  # noqa: F401
from tests.unit.web_support import API, web, web_factory  # noqa: F401

NOTES = f"{API}/notifications"


async def eventually(check: Any, timeout: float = 10.0) -> Any:
    """Polls ``check`` (a coroutine function returning a truthy value when done) until the deadline."""
    async with asyncio.timeout(timeout):
        while not (found := await check()):
            await asyncio.sleep(0.02)
    return found


def mails(directory: str) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
            for p in sorted(Path(directory).glob("*.eml"))]


async def test_an_invitation_reaches_the_bell_the_socket_and_the_mailbox(signaling_factory, tmp_path):
    signaling = await signaling_factory(APP_MAIL_DIR=str(tmp_path))
    web = signaling.web
    host, guest = await web.user(), await web.user()
    socket = await signaling.connect(guest)
    meeting = (await web.meeting(host, start_time="2035-01-01T09:00:00Z"))["id"]
    await web.ok("POST", f"{API}/meetings/{meeting}/invitations", who=host, json={"user_id": guest.id})

    frame = await socket.next(lambda m: m["type"] == "notification" and m["data"]["kind"] == "meeting_invitation",
                              timeout=10)
    assert frame["data"]["link"] == f"/meetings/{meeting}"
    page = await web.ok("GET", NOTES, who=guest)  # the sign-in from a new client is in there too
    assert page["items"][0]["id"] == frame["data"]["id"] and page["unread"] == len(page["items"])

    async def mailed():
        return [m for m in mails(web.settings.mail_dir)
                if m["To"] == guest.email and m["X-Confero-Kind"] == "meeting_invitation"]
    (mail,) = await eventually(mailed)
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert f"{web.settings.public_url}/meetings/{meeting}" in text
    token = parse_qs(urlsplit(str(mail["List-Unsubscribe"]).strip("<> ")).query)["token"][0]
    reply = await web.ok("POST", f"{NOTES}/unsubscribe", params={"token": token}, data="List-Unsubscribe=One-Click",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert reply == {"kind": "meeting_invitation", "channel": "email"}
    prefs = await web.ok("GET", f"{NOTES}/preferences", who=guest)
    assert "email" not in prefs["channels"]["meeting_invitation"]
    await socket.close()


async def test_read_marks_one_and_read_all_the_rest(signaling: Signaling):
    web = signaling.web
    host, guest = await web.user(), await web.user()
    for title in ("One", "Two"):
        m = (await web.meeting(host, title=title, start_time="2035-01-01T09:00:00Z"))["id"]
        await web.ok("POST", f"{API}/meetings/{m}/invitations", who=host, json={"user_id": guest.id})

    async def two():
        page = await web.ok("GET", NOTES, who=guest)
        return page if sum(n["kind"] == "meeting_invitation" for n in page["items"]) == 2 else None
    page = await eventually(two)
    first = page["items"][0]["id"]
    read = await web.ok("POST", f"{NOTES}/{first}/read", who=guest)
    assert read["read_at"] is not None
    unread = (await web.ok("GET", NOTES, who=guest, params={"unread_only": "true"}))["total"]
    assert unread == page["total"] - 1
    assert await web.ok("POST", f"{NOTES}/read-all", who=guest) == {"updated": unread}
    assert (await web.ok("GET", NOTES, who=guest))["unread"] == 0
    other = await web.user()
    assert (await web.call("POST", f"{NOTES}/{first}/read", who=other)).code == "notification_not_found"


async def test_preferences_round_trip_and_bad_values_get_clear_422s(web):
    me = await web.user()
    body = {"channels": {"meeting_reminder": ["push", "in_app"]}, "quiet_hours": {"start": "22:00", "end": "07:00"},
            "timezone": "Europe/Paris", "reminder_minutes": 30, "phone": "+15551234567"}
    prefs = await web.ok("PUT", f"{NOTES}/preferences", who=me, json=body)
    assert prefs["channels"]["meeting_reminder"] == ["in_app", "push"]
    assert prefs["quiet_hours"] == {"start": "22:00", "end": "07:00"} and prefs["reminder_minutes"] == 30
    assert await web.ok("GET", f"{NOTES}/preferences", who=me) == prefs
    for bad, field in (({"timezone": "Mars/Base"}, "timezone"), ({"reminder_minutes": -5}, "reminder_minutes"),
                       ({"phone": "12345"}, "phone"), ({"locale": "tlh"}, "locale"),
                       ({"channels": {"password_reset": []}}, "channels"),
                       ({"channels": {"no_such_kind": ["email"]}}, None), ({"quiet_hours": {"start": "25:00",
                                                                                           "end": "07:00"}}, None),
                       ({}, None), ({"reminder_minutes": "10"}, None)):
        reply = await web.call("PUT", f"{NOTES}/preferences", who=me, json=bad)
        assert reply.status == 422, (bad, reply.body)
        if field:
            assert reply.body["error"]["details"].get("field") == field, reply.body


async def test_push_subscriptions_are_added_and_removed_by_their_owner(web):
    me, other = await web.user(), await web.user()
    sub = {"endpoint": "https://push.example/endpoint-1", "keys": {"p256dh": "BPk", "auth": "au"},
           "expirationTime": None}
    assert await web.ok("POST", f"{NOTES}/push-subscriptions", 201, who=me, json=sub) == {
        "endpoint": sub["endpoint"]}
    gone = await web.call("DELETE", f"{NOTES}/push-subscriptions", who=other, params={"endpoint": sub["endpoint"]})
    assert gone.code == "push_subscription_not_found"
    await web.ok("DELETE", f"{NOTES}/push-subscriptions", 204, who=me, params={"endpoint": sub["endpoint"]})
    bad = await web.call("POST", f"{NOTES}/push-subscriptions", who=me, json={"endpoint": "ftp://x", "keys": {}})
    assert bad.status == 422
    assert (await web.call("DELETE", f"{NOTES}/push-subscriptions", who=me)).status == 422
    assert await web.ok("GET", f"{NOTES}/push-key", who=me) == {"public_key": None}


@pytest.mark.parametrize("params", [{"limit": "0"}, {"offset": "-1"}, {"unread_only": "yes"}])
async def test_bad_paging_is_a_422(web, params):
    me = await web.user()
    assert (await web.call("GET", NOTES, who=me, params=params)).status == 422
