"""Driver failures become domain errors here, so no redis exception crosses a port."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from domain.shared.errors import Unavailable

P = ParamSpec("P")
T = TypeVar("T")


@contextmanager
def redis_unavailable() -> Iterator[None]:
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError) as exc:
        raise Unavailable("redis cannot be reached") from exc
    except RedisError as exc:
        # Anything else (a script error, OOM, READONLY replica) is still the store failing us.
        raise Unavailable(f"redis failed: {type(exc).__name__}") from exc


def translate_errors(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        with redis_unavailable():
            return await fn(*args, **kwargs)

    return wrapper
