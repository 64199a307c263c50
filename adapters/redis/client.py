from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from adapters.redis.observed import ObservedRedis


@asynccontextmanager
async def open_redis(url: str, *, socket_timeout: float = 1.0, connect_timeout: float = 0.5,
                     max_connections: int = 50, pool_timeout: float = 2.0) -> AsyncIterator[Redis]:
    """A pooled redis.asyncio client, closed on exit; the DI Resource for every Redis adapter.

    Short timeouts and one immediate retry on connection errors only: the retry is what replaces a
    pooled connection that died with a restarted server, transparently; a timeout is not retried
    because a hung server would just double the wait.  So a dead server fails in about
    ``2 * connect_timeout`` and a frozen one in ``socket_timeout``, instead of hanging a request.

    A burst of more than ``max_connections`` concurrent calls waits (up to ``pool_timeout``) for a
    connection instead of failing: the default pool raises at once when it is exhausted, which turned
    ordinary bursts (150 parallel logins) into 503s.
    """
    pool = BlockingConnectionPool.from_url(
        url, decode_responses=True, socket_timeout=socket_timeout, socket_connect_timeout=connect_timeout,
        retry=Retry(NoBackoff(), retries=1, supported_errors=(RedisConnectionError,)),
        max_connections=max_connections, timeout=pool_timeout,
    )
    client = ObservedRedis(connection_pool=pool)
    try:
        yield client
    finally:
        await client.aclose()
        await pool.aclose()
