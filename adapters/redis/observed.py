"""A redis.asyncio client that times each command and pipeline (label: the command name, a bounded set)."""

from __future__ import annotations

import time
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from adapters.metrics.instruments import REDIS_COMMAND, REDIS_ERRORS


class ObservedPipeline(Pipeline):  # type: ignore[misc]
    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        name = "MULTI" if self.is_transaction else "PIPELINE"
        started = time.perf_counter()
        try:
            return await super().execute(raise_on_error)
        except Exception:
            REDIS_ERRORS.labels(name).inc()
            raise
        finally:
            REDIS_COMMAND.labels(name).observe(time.perf_counter() - started)


class ObservedRedis(Redis):  # type: ignore[misc]
    async def execute_command(self, *args: Any, **options: Any) -> Any:
        name = args[0] if isinstance(args[0], str) else str(args[0], "ascii", "replace")
        name = name.split(" ", 1)[0].upper()[:24]  # "XINFO GROUPS" style commands keep their first word
        started = time.perf_counter()
        try:
            return await super().execute_command(*args, **options)
        except Exception:
            REDIS_ERRORS.labels(name).inc()
            raise
        finally:
            REDIS_COMMAND.labels(name).observe(time.perf_counter() - started)

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Pipeline:
        return ObservedPipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)


async def ready(client: Redis) -> None:
    """Raises when the server does not answer PING (the caller reports it as down)."""
    await client.ping()
