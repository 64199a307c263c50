"""WebhookSender over aiohttp's client, with the SSRF rules applied where they cannot be dodged.

Every address the target's name resolves to is checked when the connection is made (a resolver that
drops addresses the rules refuse), not only when the endpoint was registered, so DNS answers that
change later (rebinding) reach nothing private.  IP literals skip resolvers in aiohttp: they are checked
before sending.  No redirects are followed (a 3xx is a failure), no proxy from the environment is used,
and the whole attempt is bounded by ``timeout``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import urllib.parse
from collections.abc import Mapping

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from domain.webhooks.urls import TargetRules
from ports.webhooks import SendResult

READ_LIMIT = 4096  # of the response body: a receiver's answer is not ours to store


class AddressRefused(OSError):
    pass


class GuardedResolver(AbstractResolver):
    def __init__(self, rules: TargetRules) -> None:
        self._rules = rules
        self._inner = aiohttp.ThreadedResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET,
                      ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        allowed = [r for r in found if self._rules.address_allowed(ipaddress.ip_address(r["host"]))]
        if not allowed:
            raise AddressRefused(f"{host} resolves to no address webhooks may reach")
        return allowed

    async def close(self) -> None:
        await self._inner.close()


class AiohttpWebhookSender:
    def __init__(self, rules: TargetRules, *, timeout: float = 10.0) -> None:
        self._rules = rules
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:  # made in the loop that uses it
            connector = aiohttp.TCPConnector(resolver=GuardedResolver(self._rules), use_dns_cache=False, limit=100)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout, trust_env=False)
        return self._session

    async def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult:
        host = (urllib.parse.urlsplit(url).hostname or "").strip("[]")
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None and not self._rules.address_allowed(literal):
            return SendResult(status=None, error="the target address is not allowed")
        try:
            async with self._client().post(url, data=body, headers=dict(headers), allow_redirects=False) as resp:
                await resp.content.read(READ_LIMIT)
                status = resp.status
        except AddressRefused as exc:
            return SendResult(status=None, error=str(exc))
        except (aiohttp.ClientError, TimeoutError, asyncio.TimeoutError, OSError) as exc:
            cause = exc.__cause__ if isinstance(exc.__cause__, AddressRefused) else exc
            return SendResult(status=None, error=f"{type(cause).__name__}: {cause}"[:300])
        return SendResult(status=status, error=None if 200 <= status < 300 else f"HTTP {status}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
