"""An integrator's webhook receiver for tests: an aiohttp server on 127.0.0.1 that checks every
delivery's signature the way the README tells integrators to, and can be told to fail or be stopped
and started again on the same port."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from domain.webhooks.signing import SIGNATURE_HEADER, verify


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.secret = ""
        self.status = 204
        self.received: list[dict[str, Any]] = []  # verified deliveries: headers and parsed body
        self.refused = 0  # requests whose signature did not verify
        self.arrived = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.clock: Callable[[], float] = time.time  # the receiver's clock (tests may share a frozen one)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not verify(self.secret, request.headers.get(SIGNATURE_HEADER, ""), body, int(self.clock())):
            self.refused += 1
            return web.Response(status=400)
        if self.status < 300:
            self.received.append({"headers": dict(request.headers), "body": json.loads(body)})
            self.arrived.set()
        return web.Response(status=self.status)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hooks", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def wait_for(self, count: int, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()
