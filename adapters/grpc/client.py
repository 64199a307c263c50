"""One channel to another confero service, for the client adapters of this package (docs/grpc.md).

Every call has a deadline (``CallPolicy.timeout``, per attempt); only calls the caller declares
idempotent are retried, on UNAVAILABLE, DEADLINE_EXCEEDED or a failed connection, at most
``CallPolicy.attempts`` times with capped, jittered exponential backoff.  Every failure leaves as a
domain error: the same class the server raised (adapters.grpc.wire), or Unavailable for the transport.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any, TypeVar

from attrs import frozen
from grpclib.client import Channel
from grpclib.const import Cardinality, Status
from grpclib.exceptions import GRPCError, ProtocolError, StreamTerminatedError

from adapters.grpc.observed import client_call
from adapters.grpc.wire import CheckedProtoCodec, from_grpc, outgoing
from domain.shared.errors import DomainError, Unavailable

R = TypeVar("R")
_RETRYABLE = frozenset({Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED})
REFUSED = "connection_refused"  # the Unavailable's reason when the instance took no connection


@frozen(kw_only=True)
class CallPolicy:
    timeout: float = 5.0        # seconds, each attempt's deadline (sent to the server as grpc-timeout)
    attempts: int = 3           # idempotent calls: at most this many attempts in all
    backoff: float = 0.05       # seconds before the first retry; doubles, full jitter
    max_backoff: float = 1.0

    def __attrs_post_init__(self) -> None:
        if self.timeout <= 0 or self.attempts < 1 or self.backoff < 0 or self.max_backoff < self.backoff:
            raise ValueError("timeout > 0, attempts >= 1, 0 <= backoff <= max_backoff")

    def pause(self, retry: int) -> float:
        return random.uniform(0, min(self.max_backoff, self.backoff * 2 ** retry))


class _Failed(Exception):
    def __init__(self, error: DomainError, retryable: bool) -> None:
        self.error, self.retryable = error, retryable


def parse_target(target: str) -> tuple[str, int]:
    """"host:port" (IPv6 in brackets) -> (host, port); ValueError for anything else."""
    host, sep, port = target.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"a gRPC target is host:port, not {target!r}")
    return host.strip("[]"), int(port)


class RpcClient:
    """Unary calls to one service over one HTTP/2 connection (grpclib reconnects when it drops).

    ``secret`` is sent as the service token; ``request_id`` (e.g. the HTTP request's id getter) names the
    calls, else the id of the call being served, else a fresh one.  Close with ``close()`` or ``async with``.
    """

    def __init__(self, host: str, port: int, secret: str, policy: CallPolicy | None = None, *,
                 request_id: Callable[[], str | None] | None = None) -> None:
        if not secret:
            raise ValueError("a service secret is required (APP_SERVICE_SECRETS)")
        self._channel = Channel(host, port, codec=CheckedProtoCodec())
        self._peer = (host, port)
        self._secret = secret
        self.policy = policy or CallPolicy()
        self._request_id = request_id

    @classmethod
    def to(cls, target: str, secret: str, policy: CallPolicy | None = None, **kw: Any) -> RpcClient:
        host, port = parse_target(target)
        return cls(host, port, secret, policy, **kw)

    async def unary(self, path: str, request: Any, reply_type: type[R], *, idempotent: bool) -> R:
        retries = self.policy.attempts - 1 if idempotent else 0
        for retry in range(retries + 1):
            try:
                return await self._once(path, request, reply_type)
            except _Failed as failed:
                if not failed.retryable or retry == retries:
                    raise failed.error from None
            await asyncio.sleep(self.policy.pause(retry))
        raise AssertionError("unreachable")

    async def _once(self, path: str, request: Any, reply_type: type[R]) -> R:
        with client_call(path, self._peer) as attempt:  # the span whose traceparent the metadata carries
            return await self._attempt(path, request, reply_type, attempt)

    async def _attempt(self, path: str, request: Any, reply_type: type[R], attempt: Any) -> R:
        metadata = outgoing(self._secret, self._request_id() if self._request_id else None)
        stream = None
        try:
            async with self._channel.request(path, Cardinality.UNARY_UNARY, type(request), reply_type,
                                             timeout=self.policy.timeout, metadata=metadata) as stream:
                await stream.send_message(request, end=True)
                reply = await stream.recv_message()
        except GRPCError as exc:
            attempt.status = exc.status
            trailers = dict(stream.trailing_metadata or {}) if stream is not None else {}
            raise _Failed(from_grpc(exc.status, exc.message, trailers), exc.status in _RETRYABLE) from None
        except TimeoutError:
            attempt.status = Status.DEADLINE_EXCEEDED
            raise _Failed(Unavailable(f"{path}: no answer within {self.policy.timeout} s",
                                      reason="deadline_exceeded"), True) from None
        except ConnectionRefusedError:  # nothing was sent: another instance may take even a non-idempotent call
            attempt.status = Status.UNAVAILABLE
            raise _Failed(Unavailable(f"{path}: connection refused", reason=REFUSED), True) from None
        except (OSError, StreamTerminatedError, ProtocolError) as exc:
            attempt.status = Status.UNAVAILABLE
            raise _Failed(Unavailable(f"{path}: {type(exc).__name__}", reason="connection_failed"), True) from None
        if reply is None:
            attempt.status = Status.UNKNOWN
            raise _Failed(Unavailable(f"{path}: the server sent no reply", reason="no_reply"), True)
        return reply

    @classmethod
    def over(cls, channel: Channel, secret: str, policy: CallPolicy | None = None, **kw: Any) -> RpcClient:
        """A client on a channel the caller made (its codec should be CheckedProtoCodec); ``close()``
        closes that channel."""
        client = cls(channel._host, channel._port, secret, policy, **kw)
        client._channel.close()  # never connected: a channel connects on its first call
        client._channel = channel
        return client

    def close(self) -> None:
        self._channel.close()

    async def __aenter__(self) -> RpcClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
