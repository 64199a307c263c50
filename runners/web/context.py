"""Typed application and request state shared by the middlewares and the handlers."""

from __future__ import annotations

import ipaddress
from typing import Any

from aiohttp import web
from attrs import frozen

from domain.meetings.service import MeetingService
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
    """The peer, or behind ``APP_TRUSTED_PROXY_HOPS`` trusted proxies the address the outermost of them saw.

    Each proxy appends the address it received the request from, so only the rightmost ``hops`` entries
    were written by proxies we trust; anything left of them came from the client and may be forged.  With
    fewer entries than hops, every entry was written by a trusted proxy and the leftmost is the client.
    """
    settings = request.app[SETTINGS]
    if settings.trust_forwarded_for:
        entries = [e.strip() for header in request.headers.getall("X-Forwarded-For", ())
                   for e in header.split(",") if e.strip()]
        if entries:
            chosen = entries[max(0, len(entries) - settings.trusted_proxy_hops)]
            try:
                return str(ipaddress.ip_address(chosen))
            except ValueError:  # a proxy that writes "unknown" or a port: fall back to the peer
                pass
    return request.remote or ""
