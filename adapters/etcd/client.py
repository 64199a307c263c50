from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import aetcd

from adapters.etcd.errors import etcd_unavailable

# gRPC's default reconnect backoff grows to two minutes: after an etcd restart the channel would stay
# "unavailable" long after the server is back.  Keepalive pings find a dead server on an idle watch.
_CHANNEL_OPTIONS = {
    "grpc.initial_reconnect_backoff_ms": 200,
    "grpc.min_reconnect_backoff_ms": 200,
    "grpc.max_reconnect_backoff_ms": 2000,
    "grpc.keepalive_time_ms": 10_000,
    "grpc.keepalive_timeout_ms": 5_000,
    "grpc.keepalive_permit_without_calls": 1,
}


@asynccontextmanager
async def open_etcd(url: str, *, timeout: int = 5) -> AsyncIterator[aetcd.Client]:
    """An aetcd client for ``http://host:port`` (the DI Resource of the etcd adapters), closed on exit.

    Raises Unavailable when etcd does not answer at start.  ``timeout`` bounds every unary call (and
    the creation of a watch), so a hung server fails a call instead of hanging it.
    """
    parts = urlsplit(url if "//" in url else f"http://{url}")
    client = aetcd.Client(host=parts.hostname or "127.0.0.1", port=parts.port or 2379, timeout=timeout,
                          options=dict(_CHANNEL_OPTIONS))
    try:
        with etcd_unavailable():
            await client.connect()
            await client.status()
        yield client
    finally:
        await client.close()
