from __future__ import annotations

from aiohttp import web

from domain.rooms.service import RoomService
from runners.signaling.hub import Hub

HUB = web.AppKey("signaling_hub", Hub)
ROOMS = web.AppKey("room_service", RoomService)
