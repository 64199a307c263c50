"""New in-app notifications pushed live to their user's open signaling sockets (the `notification`
frame of docs/signaling.md).  At-most-once: a client that was offline sees them on its next fetch."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiohttp import web

from domain.notifications.model import Notification
from ports.notifications import LiveNotifications
from runners.shapes import iso
from runners.signaling.connection import frame
from runners.signaling.context import HUB


def notification_frame(n: Notification) -> str:
    return frame("notification", {"id": n.id, "kind": n.kind.value, "title": n.title, "body": n.body,
                                  "link": n.link, "data": n.data, "created_at": iso(n.created_at)})


def live_notifications(live: LiveNotifications) -> Callable[[web.Application], AsyncIterator[None]]:
    async def run(app: web.Application) -> AsyncIterator[None]:
        async def forward(n: Notification) -> None:
            app[HUB].to_user(n.user_id, notification_frame(n))

        async with live.listen(forward):
            yield

    return run
