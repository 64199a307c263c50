"""Typed application and request state shared by the middlewares and the handlers."""

from __future__ import annotations

import ipaddress

from aiohttp import web

from domain.shared.actor import Actor
from domain.users.tokens import Principal
from runners.app_state import REQUEST_ID, SERVICES, SETTINGS, Services

__all__ = ["OPENAPI", "PRINCIPAL", "REQUEST_ID", "SERVICES", "SETTINGS", "Services", "actor", "client_address",
           "principal", "services"]


OPENAPI = web.AppKey("openapi", dict)
PRINCIPAL = web.RequestKey("principal", Principal)


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
