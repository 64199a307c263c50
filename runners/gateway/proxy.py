"""Forwarding one HTTP request to an upstream instance and its answer back, bodies streamed both ways.

Retries: a connection that could not be made sent nothing, so the request goes to another instance
whatever its method; a connection lost after the request was (maybe) sent is retried elsewhere only for
GET/HEAD/OPTIONS.  Errors: no instance 503 ``service_unavailable``; refused or lost 502 ``bad_gateway``;
too slow (connect or answer) 504 ``gateway_timeout``, all with the API's JSON error body.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from opentelemetry import propagate

from domain.discovery.errors import NoInstanceAvailable
from domain.discovery.model import ServiceInstance
from runners.app_state import REQUEST_ID, error_response
from runners.gateway.state import GATEWAY, Gateway

log = logging.getLogger("runners.gateway")

HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
                        "transfer-encoding", "upgrade", "expect", "proxy-connection"})
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_ATTEMPTS = 3
BUFFER_LIMIT = 256 * 1024  # answers of a known length up to this are read whole (one write, and the total timeout)


class UpstreamFailed(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self, request: web.Request) -> web.Response:
        return error_response(self.status, self.code, self.message, request.get(REQUEST_ID))


def _hop_by_hop(headers: CIMultiDict[str] | object) -> set[str]:
    named = {h.strip().lower() for h in getattr(headers, "get")("Connection", "").split(",") if h.strip()}
    return HOP_BY_HOP | named


def forwarded_headers(request: web.Request, gateway: Gateway) -> CIMultiDict[str]:
    """The client's headers minus hop-by-hop ones, Host kept, X-Forwarded-* and X-Request-Id added, and
    (with tracing on) the gateway's span as the W3C traceparent, so the upstream's spans are its children."""
    drop = _hop_by_hop(request.headers) | {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
                                           "x-request-id", "sec-websocket-key", "sec-websocket-version",
                                           "sec-websocket-extensions", "sec-websocket-protocol"}
    out = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in drop)
    chain = ""
    if gateway.settings.trust_forwarded_for:
        chain = ", ".join(request.headers.getall("X-Forwarded-For", ()))
    peer = request.remote or ""
    out["X-Forwarded-For"] = f"{chain}, {peer}" if chain else peer
    proto = request.headers.get("X-Forwarded-Proto") if gateway.settings.trust_forwarded_for else None
    out["X-Forwarded-Proto"] = proto or request.scheme
    out["X-Forwarded-Host"] = request.host
    out["X-Request-Id"] = request.get(REQUEST_ID, "")
    propagate.inject(out)  # replaces the client's traceparent; nothing without a span (tracing off)
    return out


def _answer_headers(upstream: aiohttp.ClientResponse) -> CIMultiDict[str]:
    drop = _hop_by_hop(upstream.headers) | {"content-length"}
    return CIMultiDict((k, v) for k, v in upstream.headers.items() if k.lower() not in drop)


async def forward(request: web.Request, service: str) -> web.StreamResponse:
    gateway = request.app[GATEWAY]
    headers = forwarded_headers(request, gateway)
    return await failover(request, service, lambda instance: _attempt(request, gateway, instance, headers))


class Retry(Exception):
    """An attempt failed before anything reached the instance: another instance may be tried."""

    def __init__(self, failure: UpstreamFailed) -> None:
        self.failure = failure


async def failover(request: web.Request, service: str,
                   attempt: Callable[[ServiceInstance], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """``attempt`` on up to MAX_ATTEMPTS distinct instances of ``service`` while it raises Retry; the last
    failure's JSON answer when every instance failed, 503 (NoInstanceAvailable) when there was none."""
    gateway = request.app[GATEWAY]
    tried: set[tuple[str, str]] = set()
    failure: UpstreamFailed | None = None
    for _ in range(MAX_ATTEMPTS):
        try:
            instance = gateway.upstreams.choose(service, tried)
        except NoInstanceAvailable:
            if failure is not None:
                break
            raise  # 503 from the error middleware
        tried.add((instance.service, instance.instance_id))
        try:
            return await attempt(instance)
        except Retry as retry:
            failure = retry.failure
    assert failure is not None
    return failure.response(request)


def slow(instance: ServiceInstance) -> UpstreamFailed:
    return UpstreamFailed(504, "gateway_timeout", f"the {instance.service} service did not answer in time")


def down(instance: ServiceInstance) -> UpstreamFailed:
    return UpstreamFailed(502, "bad_gateway", f"the {instance.service} service cannot be reached")


async def _attempt(request: web.Request, gateway: Gateway, instance: ServiceInstance,
                   headers: CIMultiDict[str]) -> web.StreamResponse:
    url = f"http://{instance.http}{request.rel_url.raw_path_qs}"
    data = request.content if request.body_exists else None
    async with gateway.upstreams.using(instance):
        try:
            async with asyncio.timeout(gateway.settings.gateway_timeout) as deadline:
                upstream = await gateway.session.request(request.method, url, headers=headers, data=data,
                                                         allow_redirects=False, auto_decompress=False)
                try:
                    length = upstream.content_length
                    if request.method == "HEAD" or length is not None and length <= BUFFER_LIMIT:
                        body = await upstream.read()
                        return web.Response(status=upstream.status, reason=upstream.reason, body=body or None,
                                            headers=_answer_headers(upstream))
                    deadline.reschedule(None)  # a stream: each read is bounded instead (sock_read)
                    return await _stream(request, upstream)
                finally:
                    upstream.release()
        except aiohttp.ConnectionTimeoutError:  # nothing was sent: another instance may answer
            gateway.upstreams.failed(instance)
            raise Retry(slow(instance)) from None
        except aiohttp.ClientConnectorError as err:  # refused, unreachable: nothing was sent either
            gateway.upstreams.failed(instance)
            log.warning("upstream refused", extra={"instance": instance.instance_id, "error": str(err)})
            raise Retry(down(instance)) from None
        except TimeoutError:  # the total, or one read of the answer (aiohttp's ServerTimeoutError)
            return slow(instance).response(request)
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, aiohttp.ClientPayloadError) as err:
            log.warning("upstream lost", extra={"instance": instance.instance_id, "error": str(err)})
            if request.method in IDEMPOTENT:
                raise Retry(down(instance)) from None
            return UpstreamFailed(502, "bad_gateway",
                                  f"the {instance.service} service closed the connection").response(request)


async def _stream(request: web.Request, upstream: aiohttp.ClientResponse) -> web.StreamResponse:
    response = web.StreamResponse(status=upstream.status, reason=upstream.reason, headers=_answer_headers(upstream))
    if upstream.content_length is not None:
        response.content_length = upstream.content_length
    response.headers["X-Request-Id"] = request.get(REQUEST_ID, "")
    await response.prepare(request)
    try:
        async for chunk in upstream.content.iter_any():
            await response.write(chunk)
        await response.write_eof()
    except (aiohttp.ClientError, TimeoutError) as err:
        # The status line is gone already: only cutting the connection tells the client the body is short.
        log.warning("upstream stream broke", extra={"error": repr(err)})
        if request.transport is not None:
            request.transport.close()
    except ConnectionResetError:
        pass  # the client went away: releasing the upstream answer closes that connection too
    return response
