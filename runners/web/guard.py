"""Admission of TCP connections before aiohttp sees them: a per-address and a total connection cap, and a
deadline for the first request's headers.

aiohttp 3.14 has no header-read timeout and no connection limits: its ``keepalive_timeout`` closes a
connection that has not *completed* a request since it opened or since the last response (so it bounds
idle keep-alive and the headers of every later request), and its parser bounds header sizes
(``max_line_size``, ``max_field_size``, ``max_headers``).  What is missing is here, as a protocol factory
that wraps aiohttp's own (``AppRunner.server``) and is handed to ``loop.create_server``:

- a connection over the per-address or the total cap is aborted at once, before any parsing;
- a connection that has not sent the end of its first request's headers (a blank line) within
  ``header_timeout`` is aborted (one byte every few seconds no longer holds a descriptor for minutes).

Request bodies get their own deadline where they are read (runners/web/validation.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

log = logging.getLogger("runners.web.guard")
HEADERS_END = b"\r\n\r\n"


class ConnectionGuard:
    """The protocol factory: ``loop.create_server(ConnectionGuard(runner.server, ...), host, port)``."""

    def __init__(self, factory: Callable[[], asyncio.Protocol], *, per_address: int, total: int,
                 header_timeout: float) -> None:
        self.factory, self.per_address, self.total, self.header_timeout = factory, per_address, total, header_timeout
        self.open: Counter[str] = Counter()
        self.open_total = 0  # sum(self.open.values()), kept so admitting stays O(1) under a flood
        self.refused = 0

    def __call__(self) -> asyncio.Protocol:
        return _Guarded(self)

    def admit(self, address: str) -> bool:
        over_address = self.per_address > 0 and self.open[address] >= self.per_address
        over_total = self.total > 0 and self.open_total >= self.total
        if over_address or over_total:
            self.refused += 1
            if self.refused % 100 == 1:  # a flood would otherwise flood the log too
                log.warning("connection refused", extra={"address": address, "refused": self.refused,
                                                         "reason": "per-address cap" if over_address else "total cap"})
            return False
        self.open[address] += 1
        self.open_total += 1
        return True

    def release(self, address: str) -> None:
        self.open_total -= 1
        self.open[address] -= 1
        if self.open[address] <= 0:
            del self.open[address]


class _Guarded(asyncio.Protocol):
    """Forwards everything to aiohttp's protocol once the connection is admitted."""

    def __init__(self, guard: ConnectionGuard) -> None:
        self.guard = guard
        self.inner: Any = None
        self.address = ""
        self.transport: asyncio.Transport | None = None
        self.deadline: asyncio.TimerHandle | None = None
        self.tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        if not self.guard.admit(address):
            transport.abort()  # type: ignore[attr-defined]
            return
        self.address, self.transport = address, transport  # type: ignore[assignment]
        if self.guard.header_timeout > 0:
            self.deadline = asyncio.get_running_loop().call_later(self.guard.header_timeout, self._too_slow)
        self.inner = self.guard.factory()
        self.inner.connection_made(transport)

    def _too_slow(self) -> None:
        self.deadline = None
        if self.transport is not None:
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        if self.deadline is not None:
            seen = self.tail + data
            if HEADERS_END in seen:
                self.deadline.cancel()
                self.deadline = None
            self.tail = seen[-(len(HEADERS_END) - 1):]
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.inner is not None else None

    def pause_writing(self) -> None:
        if self.inner is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.inner is not None:
            self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.inner is None:
            return  # refused: never counted, never handed to aiohttp
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None
        self.guard.release(self.address)
        self.inner.connection_lost(exc)
