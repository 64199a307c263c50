from __future__ import annotations

from aiohttp import web

from domain.captions.service import CaptionService
from domain.rooms.service import RoomService
from ports.rooms import SignalBus
from runners.signaling.context import HUB, ROOMS
from runners.signaling.hub import Hub
from runners.signaling.tasks import EVENT_FEED, EventFeed, background


def install_signaling(app: web.Application, rooms: RoomService, bus: SignalBus, feed: EventFeed,
                      captions: CaptionService | None = None) -> None:
    app[HUB] = Hub(bus, rooms.media, captions)
    app[ROOMS] = rooms
    app[EVENT_FEED] = feed
    app.cleanup_ctx.append(background)
