"""WebSocket proxying (/ws/signaling): the upstream handshake first (so its refusal reaches the client as
an HTTP status), then frames pumped both ways until one side closes; its close code and reason are
given to the other side, and both sides are closed when either ends.  A side that vanishes without a
close frame: the client is told 1014 (bad gateway), the upstream 1001 (going away)."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from aiohttp import WSCloseCode, WSMsgType, web

from domain.discovery.model import ServiceInstance
from runners.app_state import REQUEST_ID, error_response
from runners.gateway.proxy import Retry, down, failover, forwarded_headers, slow
from runners.gateway.state import GATEWAY, Gateway
from runners.web.errors import HTTP_CODES

log = logging.getLogger("runners.gateway")
# 1005 (no code) and 1006 (abnormal) may not be sent in a close frame.
_UNSENDABLE = {0, 1005, 1006, None}


async def forward_socket(request: web.Request, service: str) -> web.StreamResponse:
    gateway = request.app[GATEWAY]
    headers = forwarded_headers(request, gateway)
    protocols = tuple(p.strip() for h in request.headers.getall("Sec-WebSocket-Protocol", ())
                      for p in h.split(",") if p.strip())

    async def attempt(instance: ServiceInstance) -> web.StreamResponse:
        try:
            upstream = await _connect(gateway, instance, request, headers, protocols)
        except aiohttp.WSServerHandshakeError as err:  # the upstream refused the client (401, 403, 400)
            return error_response(err.status, HTTP_CODES.get(err.status, "http_error"),
                                  err.message or "the upgrade was refused", request.get(REQUEST_ID))
        except aiohttp.ConnectionTimeoutError:
            gateway.upstreams.failed(instance)
            raise Retry(slow(instance)) from None
        except (aiohttp.ClientConnectorError, aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
            gateway.upstreams.failed(instance)
            raise Retry(down(instance)) from None
        except TimeoutError:
            return slow(instance).response(request)
        async with gateway.upstreams.using(instance):
            return await _relay(request, upstream)

    return await failover(request, service, attempt)


async def _connect(gateway: Gateway, instance: ServiceInstance, request: web.Request, headers: object,
                   protocols: tuple[str, ...]) -> aiohttp.ClientWebSocketResponse:
    url = f"ws://{instance.http}{request.rel_url.raw_path_qs}"
    async with asyncio.timeout(gateway.settings.gateway_timeout):
        return await gateway.session.ws_connect(url, headers=headers, protocols=protocols, autoclose=False,  # type: ignore[arg-type]
                                                autoping=True, max_msg_size=0,
                                                timeout=aiohttp.ClientWSTimeout(ws_close=5.0))


async def _relay(request: web.Request, upstream: aiohttp.ClientWebSocketResponse) -> web.WebSocketResponse:
    client = web.WebSocketResponse(protocols=(upstream.protocol,) if upstream.protocol else (), autoclose=False,
                                   autoping=True, max_msg_size=0)
    try:
        await client.prepare(request)
    except BaseException:
        await upstream.close(code=WSCloseCode.GOING_AWAY)
        raise
    sockets = request.app[GATEWAY].sockets
    sockets.add(client)
    to_upstream = asyncio.create_task(_pump(client, upstream, vanished=WSCloseCode.GOING_AWAY))
    to_client = asyncio.create_task(_pump(upstream, client, vanished=WSCloseCode.BAD_GATEWAY))
    try:
        await asyncio.wait((to_upstream, to_client), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (to_upstream, to_client):
            task.cancel()
        await asyncio.gather(to_upstream, to_client, return_exceptions=True)
        # Whichever side is still open (a pump was cancelled, or this handler was): close it too.
        await asyncio.gather(_close(upstream, WSCloseCode.GOING_AWAY, b""),
                             _close(client, WSCloseCode.GOING_AWAY, b""), return_exceptions=True)
        sockets.discard(client)
    return client


async def close_sockets(app: web.Application) -> None:
    """on_shutdown: a relayed socket is a handler that never ends by itself; without this every stop with a
    socket open waited the whole shutdown timeout.  Both sides are told 1001 (going away)."""
    await asyncio.gather(*(_close(ws, WSCloseCode.GOING_AWAY, b"gateway shutting down")
                           for ws in list(app[GATEWAY].sockets)), return_exceptions=True)


async def _pump(source: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
                sink: web.WebSocketResponse | aiohttp.ClientWebSocketResponse, *, vanished: int) -> None:
    while True:
        msg = await source.receive()
        if msg.type is WSMsgType.TEXT:
            await sink.send_str(msg.data)
        elif msg.type is WSMsgType.BINARY:
            await sink.send_bytes(msg.data)
        elif msg.type is WSMsgType.CLOSE:
            code = msg.data if msg.data not in _UNSENDABLE else WSCloseCode.OK
            reason = (msg.extra or "").encode()[:123]
            await _close(sink, code, reason)
            await _close(source, code, b"")
            return
        elif msg.type is WSMsgType.CLOSING:  # the other pump is closing this side: it carries the code
            return
        elif msg.type in (WSMsgType.CLOSED, WSMsgType.ERROR):
            await _close(sink, vanished, b"")
            return


async def _close(ws: web.WebSocketResponse | aiohttp.ClientWebSocketResponse, code: int, reason: bytes) -> None:
    if not ws.closed:
        try:
            await ws.close(code=code, message=reason)
        except (ConnectionError, aiohttp.ClientError, RuntimeError):
            pass
