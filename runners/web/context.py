"""Typed application and request state shared by the middlewares and the handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web
from attrs import frozen

from domain.meetings.service import MeetingService
from domain.messaging.dead_letters import DeadLetterService
from domain.rooms.service import RoomService
from domain.shared.actor import Actor
from domain.users.service import UserService
from domain.users.tokens import Principal
from ports.media import MediaServer
from ports.rooms import SignalBus
from runners.settings import Settings


@frozen
class Services:
    """What the web app is given by the composition root."""

    users: UserService
    meetings: MeetingService
    rooms: RoomService
    signal_bus: SignalBus
    event_feed: Any  # runners.signaling.tasks.EventFeed
    media: MediaServer
    dead_letters: DeadLetterService
    # cleanup_ctx generators the app runs besides its own (the outbox relay: runners/workers/outbox.py).
    background: tuple[Callable[[web.Application], AsyncIterator[None]], ...] = ()


SERVICES = web.AppKey("services", Services)
SETTINGS = web.AppKey("settings", Settings)
OPENAPI = web.AppKey("openapi", dict)
PRINCIPAL = web.RequestKey("principal", Principal)
REQUEST_ID = web.RequestKey("request_id", str)


def services(request: web.Request) -> Services:
    return request.app[SERVICES]


def principal(request: web.Request) -> Principal:
    return request[PRINCIPAL]


def actor(request: web.Request) -> Actor:
    return principal(request).actor


def client_address(request: web.Request) -> str:
    if request.app[SETTINGS].trust_forwarded_for:
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.remote or ""
