"""Small hardening: no MIME sniffing of API replies, no server version, no secrets from third-party DEBUG logs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest

from runners.web import logs
from tests.unit.web_support import API, WebApi, web, web_factory  # noqa: F401  (fixtures)


async def test_api_replies_forbid_sniffing_and_name_no_server_version(web: WebApi) -> None:
    user = await web.user("ann")
    for method, path, who in (("GET", "/health", None), ("GET", f"{API}/users/me", user),
                              ("GET", f"{API}/users/me", None), ("GET", f"{API}/nope", None),
                              ("DELETE", "/health", None), ("GET", f"{API}/openapi.json", None)):
        reply = await web.call(method, path, who=who)
        assert reply.headers["X-Content-Type-Options"] == "nosniff", (method, path)
        assert reply.headers["Server"] == "confero", (method, path, reply.headers["Server"])


async def test_a_request_the_parser_refuses_names_no_server_version_either(web: WebApi) -> None:
    server = web.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        writer.write(b"GET /health\x01 HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        head = (await asyncio.wait_for(reader.read(4096), 10)).decode(errors="replace")
    finally:
        writer.close()
    assert head.startswith("HTTP/1.") and " 400 " in head.splitlines()[0]
    server_header = [line for line in head.splitlines() if line.lower().startswith("server:")]
    assert server_header == ["Server: confero"]


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in logs.QUIET_BELOW_INFO}
    yield
    root.handlers[:], root.level = handlers, level
    for name, lvl in levels.items():
        logging.getLogger(name).setLevel(lvl)


def test_at_debug_level_webrtc_libraries_do_not_log_sdps_or_stun_credentials(
        restored_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("DEBUG", "text")
    logging.getLogger("aioice.ice").debug("Connection(0) local ice-pwd=SECRETPWD")
    logging.getLogger("aiortc.rtcpeerconnection").debug("sdp a=ice-ufrag:SECRETUFRAG")
    logging.getLogger("aioice.stun").debug("STUN USERNAME=SECRETUSER")
    logging.getLogger("aiortc.rtcpeerconnection").info("connection state is connected")
    logging.getLogger("runners.web").debug("our own debug line")
    err = capsys.readouterr().err
    assert "SECRET" not in err
    assert "connection state is connected" in err and "our own debug line" in err


def test_a_quieter_level_still_applies_to_them(restored_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("WARNING", "text")
    logging.getLogger("aiortc.rtcpeerconnection").info("chatty")
    assert "chatty" not in capsys.readouterr().err
