"""One WebSocket client: identity, joined rooms, an outbox drained by its own writer task, a rate
limit.  Senders never await a slow client: a full outbox closes the socket instead."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from aiohttp import web

from domain.shared.ids import MeetingId
from domain.users.tokens import Principal
from runners.observability.signaling import SIGNALING_SENT
from runners.observability.tracing import ids
from runners.signaling.protocol import VERSION

log = logging.getLogger(__name__)
OUTBOX = 512
CLOSE_CODES = {"kicked": 4001, "replaced": 4002, "unauthenticated": 4401, "flood": 1008, "policy": 1008,
               "slow": 1013, "shutdown": 1001}


def frame(kind: str, data: dict[str, Any], re: str | None = None) -> str:
    body: dict[str, Any] = {"v": VERSION, "type": kind, "data": data}
    if re is not None:
        body["re"] = re
    return json.dumps(body)


class TokenBucket:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class Connection:
    def __init__(self, connection_id: str, ws: web.WebSocketResponse, principal: Principal, token: str,
                 bucket: TokenBucket) -> None:
        self.id = connection_id
        self.ws = ws
        self.principal = principal
        self.token = token
        self.bucket = bucket
        self.rooms: set[MeetingId] = set()
        self.violations = 0
        self.closing = False
        self._outbox: asyncio.Queue[str | tuple[int, str]] = asyncio.Queue(OUTBOX)
        self._writer = asyncio.create_task(self._write(), name=f"ws-writer-{connection_id}")

    @property
    def user_id(self) -> str:
        return self.principal.user_id

    def send(self, kind: str, data: dict[str, Any], re: str | None = None) -> None:
        SIGNALING_SENT.labels(kind).inc()
        self.send_frame(frame(kind, data, re))

    def send_frame(self, text: str) -> None:
        """A frame already serialised (fan-out serialises once for every receiver)."""
        if self.closing:
            return
        try:
            self._outbox.put_nowait(text)
        except asyncio.QueueFull:
            log.warning("slow client: closing", extra={"connection_id": self.id})
            self.close("slow", "too slow to receive")

    def error(self, code: str, message: str, re: str | None = None, details: dict[str, Any] | None = None) -> None:
        # trace_id and span_id (tracing on): the message's trace, for a report to point at, as on HTTP errors
        self.send("error", {"code": code, "message": message, "details": details or {}, **ids()}, re)

    def close(self, reason: str, message: str = "") -> None:
        """Closes after what is already queued has been sent."""
        if self.closing:
            return
        self.closing = True
        try:
            self._outbox.put_nowait((CLOSE_CODES.get(reason, 1000), message or reason))
        except asyncio.QueueFull:
            self._writer.cancel()
            asyncio.get_running_loop().create_task(self.ws.close(code=CLOSE_CODES.get(reason, 1000)))

    async def finish(self) -> None:
        if self.closing:  # let the queued frames and the close frame go out first
            with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(self._writer), 2)
        self._writer.cancel()
        try:
            await self._writer
        except asyncio.CancelledError:
            pass

    async def _write(self) -> None:
        try:
            while True:
                item = await self._outbox.get()
                if isinstance(item, tuple):
                    await self.ws.close(code=item[0], message=item[1][:120].encode())
                    return
                await self.ws.send_str(item)
        except (ConnectionResetError, RuntimeError):
            pass  # the peer went away; the reader side cleans up
