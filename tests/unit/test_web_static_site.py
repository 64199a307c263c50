"""The web client's pages: a meeting's link opens the page, with the page's security headers."""

from __future__ import annotations

import uuid

from tests.unit.web_support import WebApi, web, web_factory  # noqa: F401  (fixtures)


async def test_a_meetings_short_link_and_its_notification_link_serve_the_web_client(web: WebApi) -> None:
    meeting_id = str(uuid.uuid4())
    for path in (f"/m/{meeting_id}", f"/meetings/{meeting_id}", f"/m/{meeting_id.upper()}"):
        reply = await web.call("GET", path)
        assert reply.status == 200, path
        assert '<script type="module" src="/static/app.js">' in reply.body
        assert "script-src 'self'" in reply.headers["Content-Security-Policy"]
        assert reply.headers["X-Frame-Options"] == "DENY"


async def test_only_a_meeting_id_makes_a_meeting_link(web: WebApi) -> None:
    for path in ("/m/not-a-meeting", "/m/", "/meetings/123", f"/m/{uuid.uuid4()}/extra"):
        assert (await web.call("GET", path)).status == 404, path
