"""Unsubscribe tokens: a link in an email that turns one kind off on one channel, with no sign-in.

The token is the user, kind and channel signed with HMAC-SHA256 under a server secret: nothing is
stored, a forged or altered token is refused, and using it twice does the same thing twice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from domain.notifications.errors import InvalidUnsubscribeToken
from domain.notifications.model import Channel, Kind
from domain.shared.ids import UserId, is_valid_id

MAX_TOKEN = 256


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(secret: bytes, user_id: UserId, kind: Kind, channel: Channel) -> str:
    body = f"{user_id}|{kind.value}|{channel.value}".encode()
    mac = hmac.new(secret, body, hashlib.sha256).digest()[:18]
    return f"{_b64(body)}.{_b64(mac)}"


def verify(secret: bytes, token: str) -> tuple[UserId, Kind, Channel]:
    """Raises InvalidUnsubscribeToken for anything not signed by ``secret``."""
    try:
        if len(token) > MAX_TOKEN:
            raise ValueError
        body_part, mac_part = token.split(".")
        body, mac = _unb64(body_part), _unb64(mac_part)
        if not hmac.compare_digest(hmac.new(secret, body, hashlib.sha256).digest()[:18], mac):
            raise ValueError
        user, kind, channel = body.decode().split("|")
        if not is_valid_id(user):
            raise ValueError
        return UserId(user), Kind(kind), Channel(channel)
    except (ValueError, UnicodeDecodeError):
        raise InvalidUnsubscribeToken("the unsubscribe link is not valid") from None
