"""The signaling WebSocket (docs/signaling.md, protocol v1): header authentication, requests answered by
id (``request`` returns the reply or raises ``SignalingError``), every event handed to one callback."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from typing import Any

import aiohttp

PROTOCOL = 1
EventHandler = Callable[[str, dict[str, Any]], None]


class SignalingError(Exception):
    """An ``error`` reply: ``code`` from the protocol's error table (section 5)."""

    def __init__(self, code: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.details = code, message, details


class SignalingClosed(ConnectionError):
    """The socket closed; ``code`` is its close code (section 6) when known."""

    def __init__(self, code: int | None) -> None:
        super().__init__(f"signaling socket closed ({code})")
        self.code = code


class Signaling:
    """One authenticated socket. ``on_event(type, data)`` receives every server message that is not a
    reply to a request (events, in arrival order). It must not block: it runs inside the reader, so
    work that waits (a negotiation, which sends requests) goes into a task of its own."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, welcome: dict[str, Any], on_event: EventHandler,
                 token: str) -> None:
        self.ws = ws
        self.token = token  # the access token this socket is authenticated with
        self.user_id: str = welcome["user_id"]
        self.connection_id: str = welcome["connection_id"]
        self._on_event = on_event
        self._ids = itertools.count(1)
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.ensure_future(self._read())
        self.closed = asyncio.get_running_loop().create_future()

    @classmethod
    async def connect(cls, session: aiohttp.ClientSession, url: str, token: str,
                      on_event: EventHandler) -> Signaling:
        ws = await session.ws_connect(url, headers={"Authorization": f"Bearer {token}"}, heartbeat=None)
        msg = await ws.receive(timeout=15)
        if msg.type != aiohttp.WSMsgType.TEXT:
            raise SignalingClosed(ws.close_code)
        first = json.loads(msg.data)
        if first["type"] == "error":
            await ws.close()
            raise SignalingError(first["data"]["code"], first["data"]["message"], first["data"]["details"])
        assert first["type"] == "welcome", first
        return cls(ws, first["data"], on_event, token)

    async def request(self, kind: str, data: dict[str, Any], timeout: float = 15) -> dict[str, Any]:
        """Sends and waits for the reply's ``data`` (``room_state``, ``ack``, ``pong``)."""
        rid = f"d{next(self._ids)}"
        reply = self._waiting[rid] = asyncio.get_running_loop().create_future()
        try:
            await self.ws.send_str(json.dumps({"v": PROTOCOL, "type": kind, "id": rid, "data": data}))
            message = await asyncio.wait_for(asyncio.shield(reply), timeout)
        finally:
            self._waiting.pop(rid, None)
        if message["type"] == "error":
            d = message["data"]
            raise SignalingError(d["code"], d["message"], d.get("details", {}))
        return message["data"]

    async def _read(self) -> None:
        try:
            async for msg in self.ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                message = json.loads(msg.data)
                waiting = self._waiting.get(message.get("re", ""))
                if waiting is not None and not waiting.done():
                    waiting.set_result(message)
                    continue
                self._on_event(message["type"], message["data"])
        finally:
            error = SignalingClosed(self.ws.close_code)
            for waiting in self._waiting.values():
                if not waiting.done():
                    waiting.set_exception(error)
            if not self.closed.done():
                self.closed.set_result(self.ws.close_code)

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)
