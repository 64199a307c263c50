"""Driver failures become domain errors here, so no aetcd/gRPC exception crosses a port."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from aetcd.exceptions import ClientError

from domain.shared.errors import Unavailable


def is_lease_gone(exc: BaseException) -> bool:
    """etcd answers NOT_FOUND "requested lease not found" for a put or keepalive on an expired lease."""
    return isinstance(exc, ClientError) and "lease not found" in str(exc)


@contextmanager
def etcd_unavailable() -> Iterator[None]:
    try:
        yield
    except (ClientError, OSError, TimeoutError) as exc:
        raise Unavailable(f"etcd cannot be reached: {type(exc).__name__}") from exc
