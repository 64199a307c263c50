"""The ICE servers a member is told to use: APP_ICE_SERVERS, plus short-lived TURN credentials.

TURN credentials follow the coturn REST convention (``use-auth-secret`` / ``static-auth-secret``):
username ``<expiry unix time>:<user id>``, credential base64(HMAC-SHA1(secret, username)).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from runners.settings import Settings


def turn_credentials(urls: tuple[str, ...], secret: str, user_id: str, now: int, ttl: int) -> dict[str, Any]:
    username = f"{now + ttl}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return {"urls": list(urls), "username": username, "credential": base64.b64encode(digest).decode()}


def ice_servers_for(settings: Settings, user_id: str, now: int) -> list[dict[str, Any]]:
    servers = [dict(s) for s in settings.ice_servers]
    if settings.turn_urls:
        servers.append(turn_credentials(settings.turn_urls, settings.turn_secret, user_id, now, settings.turn_ttl))
    return servers
