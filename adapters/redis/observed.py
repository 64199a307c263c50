"""A redis.asyncio client that times each command and pipeline (label: the command name, a bounded set)."""

from __future__ import annotations

import time
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import ResponseError

from adapters.metrics.instruments import EVENT_STREAM_BACKLOG, EVENT_STREAM_PENDING, REDIS_COMMAND, REDIS_ERRORS


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


MAX_GROUPS = 32  # a bound on the label values, whatever the server holds


async def stream_groups(client: Redis, stream: str) -> None:
    """Run before each scrape: per consumer group of ``stream``, the entries it was handed and has not
    acknowledged, and those not handed to it yet (Redis 7's ``lag``; absent on older servers)."""
    try:
        groups = await client.xinfo_groups(stream)
    except ResponseError:  # no such stream yet: nothing published
        return
    for group in groups[:MAX_GROUPS]:
        name = str(group["name"])
        EVENT_STREAM_PENDING.labels(name).set(int(group["pending"]))
        if group.get("lag") is not None:
            EVENT_STREAM_BACKLOG.labels(name).set(int(group["lag"]))
