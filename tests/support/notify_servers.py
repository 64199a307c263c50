"""Servers the notification tests start themselves: an SMTP server (aiosmtpd) that records, refuses
or drops; a Twilio-style SMS provider that checks requests like the provider would; a Web Push
endpoint that decrypts payloads with the subscription's keys (http_ece)."""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import json
import threading
from email.message import EmailMessage
from typing import Any

import http_ece
from aiohttp import web
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.process import free_port


class _Recorder:
    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if self._server.refuse or address in self._server.refuse_addresses:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with self._server.lock:
            self._server.messages.append(msg)  # type: ignore[arg-type]
        self._server.arrived.set()
        return "250 Message accepted"


class SmtpServer:
    """aiosmtpd in its own thread on a fixed port (so a restart comes back at the same address).
    ``refuse`` makes it answer 550 to every recipient."""

    def __init__(self, port: int | None = None, *, refuse: bool = False) -> None:
        self.port = port or free_port()
        self.refuse = refuse
        self.refuse_addresses: set[str] = set()
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()
        self.arrived = threading.Event()
        self._controller: Controller | None = None

    def start(self) -> SmtpServer:
        self._controller = Controller(_Recorder(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def received(self, kind: str | None = None) -> list[EmailMessage]:
        """What arrived, oldest first; ``kind`` keeps the notifications of one kind (X-Confero-Kind)."""
        with self.lock:
            return [m for m in self.messages if kind is None or m["X-Confero-Kind"] == kind]

    async def wait_for(self, count: int, timeout: float = 30.0, kind: str | None = None) -> list[EmailMessage]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.received(kind)) < count:
            if loop.time() > deadline:
                raise AssertionError(f"{len(self.received(kind))} emails ({kind or 'any kind'}) arrived, "
                                     f"expected {count}")
            await asyncio.sleep(0.05)
        return self.received(kind)


class DroppingServer:
    """Accepts TCP connections and closes them at once (an SMTP server that drops the connection)."""

    def __init__(self) -> None:
        self.port = free_port()
        self._server: asyncio.AbstractServer | None = None
        self.connections = 0

    async def start(self) -> DroppingServer:
        async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            writer.close()

        self._server = await asyncio.start_server(drop, "127.0.0.1", self.port)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


def text_and_html(msg: EmailMessage) -> tuple[str, str]:
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    return (text.get_content() if text else ""), (html.get_content() if html else "")


class SmsProvider:
    """A Twilio-like Messages endpoint: checks the path's account, basic auth, form fields and an E.164
    'To' (400 with Twilio's error 21211 otherwise); ``fail_next`` answers 503 that many times."""

    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.sid, self.token = account_sid, auth_token
        self.port = free_port()
        self.messages: list[dict[str, str]] = []
        self.fail_next = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> SmsProvider:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._messages)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _messages(self, request: web.Request) -> web.Response:
        expected = "Basic " + base64.b64encode(f"{self.sid}:{self.token}".encode()).decode()
        if request.match_info["sid"] != self.sid or request.headers.get("Authorization") != expected:
            return web.json_response({"code": 20003, "message": "Authenticate", "status": 401}, status=401)
        if request.content_type != "application/x-www-form-urlencoded":
            return web.json_response({"code": 21000, "message": "form body expected", "status": 400}, status=400)
        if self.fail_next:
            self.fail_next -= 1
            return web.json_response({"message": "try later", "status": 503}, status=503)
        form = await request.post()
        to, sender, body = form.get("To"), form.get("From"), form.get("Body")
        if not (isinstance(to, str) and to.startswith("+") and to[1:].isdigit()):
            return web.json_response({"code": 21211, "message": f"The 'To' number {to} is not a valid phone number.",
                                      "status": 400}, status=400)
        if not sender or not body:
            return web.json_response({"code": 21602, "message": "Message body is required.", "status": 400},
                                     status=400)
        self.messages.append({"To": to, "From": str(sender), "Body": str(body)})
        return web.json_response({"sid": f"SM{len(self.messages):032d}", "status": "queued", "to": to,
                                  "body": body}, status=201)


def _b64u(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class PushEndpoint:
    """A push service with one browser's keys: subscriptions at /push/<id>; a POST is checked for a
    VAPID Authorization header and its payload decrypted (aes128gcm) with the private key.
    ``gone`` ids answer 410."""

    def __init__(self) -> None:
        self.port = free_port()
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._auth = b"0123456789abcdef"
        self.received: list[dict[str, Any]] = []
        self.gone: set[str] = set()
        self._runner: web.AppRunner | None = None

    def subscription(self, sub_id: str) -> dict[str, Any]:
        public = self._key.public_key().public_bytes(serialization.Encoding.X962,
                                                     serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": f"http://127.0.0.1:{self.port}/push/{sub_id}",
                "keys": {"p256dh": _b64u(public), "auth": _b64u(self._auth)}}

    async def start(self) -> PushEndpoint:
        app = web.Application()
        app.router.add_post("/push/{id}", self._push)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _push(self, request: web.Request) -> web.Response:
        sub_id = request.match_info["id"]
        if sub_id in self.gone:
            return web.Response(status=410)
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("vapid t=") or request.headers.get("Content-Encoding") != "aes128gcm":
            return web.Response(status=401)
        body = await request.read()
        plain = http_ece.decrypt(body, private_key=self._key, auth_secret=self._auth, version="aes128gcm")
        self.received.append({"id": sub_id, "payload": json.loads(plain), "ttl": request.headers.get("TTL")})
        return web.Response(status=201)

