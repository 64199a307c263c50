"""Background work of a signaling process: heartbeats, reaping, meeting events, token checks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from domain.rooms.events import AccessRevoked
from domain.shared.errors import DomainError
from domain.shared.events import DomainEvent
from domain.shared.ids import UserId
from domain.users.errors import InvalidToken
from runners.signaling.context import HUB, ROOMS
from runners.signaling.endpoint import heartbeat_seconds
from runners.app_state import SERVICES, SETTINGS

log = logging.getLogger(__name__)
REAP_SECONDS = 1.0
YIELD_EVERY = 50
TOKEN_CHECK_EVERY = 6  # heartbeats (~30 s): expired tokens, and revocations whose notice was lost

# Runs the domain-event feed until the event is set, handing each typed event to the handler.
EventFeed = Callable[[Callable[[DomainEvent], Awaitable[None]], asyncio.Event], Awaitable[None]]
EVENT_FEED = web.AppKey("meeting_event_feed", object)


async def beat(app: web.Application, check_tokens: bool) -> None:
    """One heartbeat: renew every admitted local member (and, every TOKEN_CHECK_EVERY beats, re-check
    every socket's token).  Yields to the loop every YIELD_EVERY sockets: with memory adapters nothing
    here awaits for real, and a thousand sockets in one go would stall the fan-out for milliseconds."""
    if check_tokens:
        for n, conn in enumerate(list(app[HUB].connections.values())):
            if n % YIELD_EVERY == YIELD_EVERY - 1:
                await asyncio.sleep(0)
            try:
                await app[SERVICES].authenticator.authenticate(conn.token)
            except InvalidToken:
                conn.error("unauthenticated", "the session ended or the token expired; reconnect")
                conn.close("unauthenticated")
            except DomainError:
                pass  # an outage is no reason to drop people
    try:
        await app[ROOMS].keep_sockets([(UserId(c.user_id), c.id) for c in app[HUB].connections.values()])
    except DomainError:
        log.warning("could not renew the sockets' places")
    for n, (conn, room_id) in enumerate(app[HUB].local_members()):
        if n % YIELD_EVERY == YIELD_EVERY - 1:
            await asyncio.sleep(0)
        try:
            # Still seated: a socket that left the room meanwhile is not told it expired.
            if not await app[ROOMS].heartbeat(conn.user_id, room_id, conn.id) and app[HUB].seated(conn, room_id):
                conn.send("removed", {"room_id": room_id, "reason": "expired"})
                await app[HUB].detach(conn, room_id)
        except DomainError:
            log.warning("heartbeat failed", extra={"room_id": room_id})


async def heartbeats(app: web.Application, stop: asyncio.Event) -> None:
    count = 0
    while not stop.is_set():
        count += 1
        await beat(app, check_tokens=count % TOKEN_CHECK_EVERY == 0)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), heartbeat_seconds(app[SETTINGS]))


async def reaper(app: web.Application, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await app[ROOMS].reap()
        except DomainError:
            log.warning("reaping failed; will retry")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), REAP_SECONDS)


async def revocations(app: web.Application, stop: asyncio.Event) -> None:
    """Closes the sockets of revoked sessions as the notices arrive (the periodic token check is the
    fallback); keeps trying to listen while the bus is unreachable."""
    hub = app[HUB]

    async def revoked(notice: AccessRevoked) -> None:
        hub.revoked(notice)

    while not stop.is_set():
        try:
            async with app[ROOMS].bus.listen_revocations(revoked):
                await stop.wait()
        except DomainError:
            log.warning("revocation notices unavailable; retrying (the periodic token check still runs)")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), REAP_SECONDS)


async def background(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: start the loops with the app, stop them with it."""
    stop = asyncio.Event()
    feed: EventFeed = app[EVENT_FEED]  # type: ignore[assignment]
    hub = app[HUB]
    tasks = [asyncio.create_task(heartbeats(app, stop), name="signaling-heartbeats"),
             asyncio.create_task(reaper(app, stop), name="signaling-reaper"),
             asyncio.create_task(revocations(app, stop), name="signaling-revocations"),
             asyncio.create_task(feed(app[ROOMS].on_event, stop), name="signaling-domain-events")]
    yield
    stop.set()  # the sockets were closed already (runners.web.app.close_sockets, at on_shutdown)
    await asyncio.gather(*tasks, return_exceptions=True)
    await hub.drain()
