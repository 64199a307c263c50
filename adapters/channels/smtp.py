"""Email over SMTP with aiosmtplib, reusing connections (a handshake per message capped throughput at
the server's connection rate: bench/notifications.py)."""

from __future__ import annotations

import asyncio
import contextlib

import aiosmtplib

from adapters.channels.mime import build_email
from domain.notifications.errors import DeliveryFailed, DeliveryRejected
from domain.notifications.jobs import DeliveryJob
from domain.notifications.model import Channel


class SmtpEmailSender:
    """5xx answers (a refused recipient, a refused message) are permanent; 4xx answers, refused or
    dropped connections and timeouts are transient (the dispatcher retries them).

    Keeps up to ``connections`` idle connections; one that the server closed while idle is noticed on
    use and replaced once (that is not a failure of the message).  ``aclose`` quits them."""

    channel = Channel.EMAIL

    def __init__(self, host: str, port: int, *, sender: str, domain: str, username: str = "", password: str = "",
                 use_tls: bool = False, start_tls: bool | None = None, timeout: float = 10.0,
                 connections: int = 8) -> None:
        self._host, self._port = host, port
        self._sender, self._domain = sender, domain
        self._username, self._password = username, password
        self._use_tls, self._start_tls, self._timeout = use_tls, start_tls, timeout
        self._idle: asyncio.LifoQueue[aiosmtplib.SMTP] = asyncio.LifoQueue(maxsize=connections)

    async def send(self, job: DeliveryJob) -> None:
        if not job.address:
            raise DeliveryRejected("no email address")
        msg = build_email(job, self._sender, self._domain)
        try:
            client, reused = await self._client()
            try:
                try:
                    await client.send_message(msg)
                except aiosmtplib.SMTPServerDisconnected:
                    if not reused:
                        raise
                    await self._discard(client)
                    client = await self._connect()
                    await client.send_message(msg)
            except BaseException:
                # After a refusal the session's state is unknown: never hand that connection out again.
                await self._discard(client)
                raise
            self._keep(client)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            if all(c >= 500 for c in codes):
                raise DeliveryRejected(f"recipient refused: {codes}") from exc
            raise DeliveryFailed(f"recipient deferred: {codes}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code >= 500:
                raise DeliveryRejected(f"{exc.code} {exc.message}") from exc
            raise DeliveryFailed(f"{exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryFailed(f"smtp unreachable: {type(exc).__name__}") from exc

    async def _client(self) -> tuple[aiosmtplib.SMTP, bool]:
        while not self._idle.empty():
            client = self._idle.get_nowait()
            if client.is_connected:
                return client, True
        return await self._connect(), False

    async def _connect(self) -> aiosmtplib.SMTP:
        client = aiosmtplib.SMTP(hostname=self._host, port=self._port, timeout=self._timeout,
                                 use_tls=self._use_tls, start_tls=self._start_tls)
        await client.connect()
        if self._username:
            try:
                await client.login(self._username, self._password)
            except BaseException:
                await self._discard(client)
                raise
        return client

    def _keep(self, client: aiosmtplib.SMTP) -> None:
        try:
            self._idle.put_nowait(client)
        except asyncio.QueueFull:
            client.close()

    async def _discard(self, client: aiosmtplib.SMTP) -> None:
        with contextlib.suppress(Exception):
            client.close()

    async def aclose(self) -> None:
        while not self._idle.empty():
            client = self._idle.get_nowait()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.quit(), 2.0)
