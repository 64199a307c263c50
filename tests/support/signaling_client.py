"""A small protocol-v1 client for tests and benchmarks."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import aiohttp

_ids = itertools.count(1)


class SignalingClient:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.inbox: list[dict[str, Any]] = []

    @classmethod
    async def connect(cls, session: aiohttp.ClientSession, url: str, token: str | None,
                      header_auth: bool = False, **kw: Any) -> SignalingClient:
        headers = {"Authorization": f"Bearer {token}"} if header_auth and token else {}
        ws = await session.ws_connect(url, headers=headers, **kw)
        client = cls(ws)
        if token and not header_auth:
            await client.send("auth", {"token": token}, request_id=None)
        welcome = await client.next("welcome")
        client.user_id = welcome["data"]["user_id"]
        client.connection_id = welcome["data"]["connection_id"]
        return client

    async def send(self, kind: str, data: dict[str, Any] | None = None, request_id: str | None = "auto") -> str | None:
        rid = f"r{next(_ids)}" if request_id == "auto" else request_id
        frame: dict[str, Any] = {"v": 1, "type": kind, "data": data or {}}
        if rid is not None:
            frame["id"] = rid
        await self.ws.send_str(json.dumps(frame))
        return rid

    async def request(self, kind: str, data: dict[str, Any] | None = None, timeout: float = 5) -> dict[str, Any]:
        """Sends and returns the reply (the message whose "re" is this request's id)."""
        rid = await self.send(kind, data)
        return await self.next(lambda m: m.get("re") == rid, timeout)

    async def next(self, match: Any, timeout: float = 5) -> dict[str, Any]:
        """The first message (already received or arriving) of a type, or matching a predicate."""
        pred = match if callable(match) else (lambda m: m["type"] == match)
        for i, message in enumerate(self.inbox):
            if pred(message):
                return self.inbox.pop(i)
        async with asyncio.timeout(timeout):
            while True:
                message = await self._receive()
                if pred(message):
                    return message
                self.inbox.append(message)

    async def _receive(self) -> dict[str, Any]:
        msg = await self.ws.receive()
        if msg.type != aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"socket closed: {msg.type} {msg.data} {msg.extra}")
        return json.loads(msg.data)

    async def close(self) -> None:
        await self.ws.close()
