"""Shared builders for the signaling tests: the real app on memory adapters, in process, with WebSocket
clients whose every received message is checked against the protocol's server schemas.

``signaling`` is a ready application; ``signaling_factory`` makes more with extra ``APP_*`` settings
(a short APP_SIGNALING_GRACE, a small APP_WS_RATE, ...).  The reaper runs every few milliseconds here,
so a grace period of one second is over in about one second.

Import the fixtures explicitly in a test module:
``from tests.unit.signaling_support import signaling, signaling_factory, web_factory  # noqa: F401``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from attrs import define

from runners.signaling import tasks
from runners.signaling.protocol import check_server
from tests.support.signaling_client import SignalingClient
from tests.unit.web_support import API, Caller, WebApi, WebFactory, web_factory  # noqa: F401  (fixture)

REAP_SECONDS = 0.02
Match = str | Callable[[dict[str, Any]], bool]


class CheckedClient(SignalingClient):
    """A SignalingClient that insists every server message matches the protocol, and remembers how the
    server closed the socket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        super().__init__(ws)
        self.close_code: int | None = None

    async def _receive(self) -> dict[str, Any]:
        msg = await self.ws.receive()
        if msg.type != aiohttp.WSMsgType.TEXT:
            self.close_code = self.ws.close_code
            raise ConnectionError(f"socket closed: {msg.type} {msg.data} {msg.extra}")
        message = json.loads(msg.data)
        problems = check_server(message)
        assert problems == [], f"server message breaks the protocol: {problems}\n{message}"
        return message

    async def closed(self, timeout: float = 5) -> int:
        """Reads (and checks) what is left until the server closes the socket; returns the close code."""
        async with asyncio.timeout(timeout):
            while True:
                try:
                    self.inbox.append(await self._receive())
                except ConnectionError:
                    assert self.close_code is not None
                    return self.close_code

    async def error(self, code: str | None = None, timeout: float = 5) -> dict[str, Any]:
        """The next error frame (with that code, when given)."""
        return await self.next(lambda m: m["type"] == "error" and (code is None or m["data"]["code"] == code),
                               timeout)

    async def never(self, match: Match, within: float = 0.2) -> None:
        """Nothing matching arrives within ``within`` seconds (what does arrive is kept in the inbox)."""
        pred = match if callable(match) else (lambda m: m["type"] == match)
        try:
            got = await self.next(pred, within)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected message: {got}")

    async def send_raw(self, frame: str | bytes) -> None:
        if isinstance(frame, bytes):
            await self.ws.send_bytes(frame)
        else:
            await self.ws.send_str(frame)

    async def alive(self) -> None:
        """The socket still answers."""
        reply = await self.request("ping", {})
        assert reply["type"] == "pong", reply


@define
class Signaling:
    """An app (its HTTP API in ``web``) and ways to open signaling sockets against it."""

    web: WebApi

    @property
    def url(self) -> str:
        return str(self.web.client.make_url("/ws/signaling"))

    @property
    def session(self) -> aiohttp.ClientSession:
        return self.web.client.session

    @property
    def app_origin(self) -> str:
        url = self.web.client.make_url("/")
        return f"{url.scheme}://{url.host}:{url.port}"

    async def connect(self, who: Caller | str, header_auth: bool = False, **kw: Any) -> CheckedClient:
        token = who if isinstance(who, str) else who.access
        client = await CheckedClient.connect(self.session, self.url, token, header_auth=header_auth, **kw)
        assert isinstance(client, CheckedClient)
        return client

    async def raw(self, **kw: Any) -> CheckedClient:
        """An upgraded socket that has not authenticated yet."""
        return CheckedClient(await self.session.ws_connect(self.url, **kw))

    async def member(self, who: Caller, meeting_id: str, password: str | None = None) -> tuple[CheckedClient, dict]:
        """A connected client that joined the room; returns it and the room_state data."""
        client = await self.connect(who)
        data: dict[str, Any] = {"room_id": meeting_id}
        if password is not None:
            data["password"] = password
        state = await client.request("join_room", data)
        assert state["type"] == "room_state", state
        return client, state["data"]

    async def meeting(self, host: Caller, **fields: Any) -> str:
        return (await self.web.meeting(host, **fields))["id"]

    async def participants(self, who: Caller, meeting_id: str) -> set[str]:
        body = await self.web.ok("GET", f"{API}/meetings/{meeting_id}/participants", who=who)
        return {p["user_id"] for p in body["items"]}

    async def host_action(self, host: Caller, path: str, method: str = "POST", **kw: Any) -> Any:
        return await self.web.ok(method, f"{API}/meetings/{path}", who=host, **kw)


SignalingFactory = Callable[..., Awaitable[Signaling]]


@pytest.fixture
async def signaling_factory(web_factory: WebFactory,  # noqa: F811  (the imported fixture)
                            monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[SignalingFactory]:
    """Makes apps with extra APP_* settings; the reaper of each runs every REAP_SECONDS."""
    monkeypatch.setattr(tasks, "REAP_SECONDS", REAP_SECONDS)

    async def make(**env: str) -> Signaling:
        return Signaling(await web_factory(APP_LOG_LEVEL="WARNING", **env))

    yield make


@pytest.fixture
async def signaling(signaling_factory: SignalingFactory) -> Signaling:
    return await signaling_factory()


def chat_text(message: dict[str, Any]) -> str:
    return message["data"]["text"]


def frame(kind: str, data: Any = None, **envelope: Any) -> str:
    body: dict[str, Any] = {"v": 1, "type": kind, **envelope}
    if data is not None:
        body["data"] = data
    return json.dumps(body)
