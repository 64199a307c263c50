"""Which endpoint URLs and target addresses are allowed (the SSRF rules).

In production an endpoint is ``https://`` and every address its host resolves to must be public
(``ipaddress.is_global``): no loopback, private, link-local (cloud metadata), CGNAT, multicast or
reserved address.  Development and tests may also use ``http://`` to a loopback host.  The sender
checks the resolved addresses again at connection time, so a name that later resolves elsewhere (DNS
rebinding) gets nowhere.
"""

from __future__ import annotations

import ipaddress
import urllib.parse

from attrs import frozen

from domain.webhooks.errors import InvalidWebhookEndpoint

URL_MAX = 2048
LOOPBACK_NAMES = frozenset({"localhost"})


@frozen(kw_only=True)
class TargetRules:
    require_https: bool = True
    allow_private: bool = False

    def check_url(self, raw: str) -> str:
        url = raw.strip()
        try:
            parts = urllib.parse.urlsplit(url)
            port = parts.port
        except ValueError:
            raise InvalidWebhookEndpoint("url is not a valid URL", field="url") from None
        host = (parts.hostname or "").lower()
        if len(url) > URL_MAX or not host or parts.username is not None or parts.password is not None \
                or parts.fragment or any(c.isspace() or ord(c) < 32 for c in url) or port == 0:
            raise InvalidWebhookEndpoint("url must be an absolute http(s) URL without credentials or fragment",
                                         field="url")
        if parts.scheme == "https":
            pass
        elif parts.scheme == "http" and not self.require_https and _is_loopback(host):
            pass
        else:
            raise InvalidWebhookEndpoint("url must use https" + ("" if self.require_https else
                                                                 " (http only to a loopback host)"), field="url")
        literal = _literal(host)
        if literal is not None and not self.address_allowed(literal):
            raise InvalidWebhookEndpoint("url points at a private or reserved address", field="url")
        if not self.allow_private and (host in LOOPBACK_NAMES or host.endswith((".localhost", ".local",
                                                                                ".internal"))):
            raise InvalidWebhookEndpoint("url points at a local name", field="url")
        return url

    def address_allowed(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        if self.allow_private:
            return not address.is_unspecified and not address.is_multicast
        mapped = getattr(address, "ipv4_mapped", None)
        return (mapped or address).is_global and not address.is_multicast


def _literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _is_loopback(host: str) -> bool:
    literal = _literal(host)
    return literal.is_loopback if literal is not None else host in LOOPBACK_NAMES
