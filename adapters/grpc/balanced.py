"""An RpcClient over every instance of a service found in the registry (APP_*_GRPC_TARGET=etcd): each call
goes to the instance a ServiceView picks among those that serve gRPC and are not draining (round robin
unless told otherwise), over one connection per instance."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from adapters.grpc.client import REFUSED, CallPolicy, RpcClient
from domain.discovery.errors import NoInstanceAvailable
from domain.discovery.model import ServiceInstance
from domain.discovery.placement import RoundRobin, candidates
from domain.shared.errors import Unavailable
from domain.discovery.service import Policy, ServiceView
from ports.discovery import ServiceRegistry

R = TypeVar("R")


def grpc_only(policy: Policy) -> Policy:
    """``policy`` over the instances that have a gRPC address."""
    def pick(instances: Any, *, service: str = "") -> ServiceInstance:
        return policy(tuple(i for i in instances if i.grpc), service=service)

    return pick


class BalancedRpcClient:
    """Has RpcClient's ``unary`` and ``close``; ``follow()`` must run (a task) for as long as it is used.

    A call raises NoInstanceAvailable (an Unavailable) when no instance can take it, after waiting at
    most one call timeout for the registry's first answer.  Retries (idempotent calls) stay on the
    instance the call was given to; an instance that refuses the connection (killed, still listed until
    its lease runs out) is passed over for another, whatever the call, since nothing reached it."""

    def __init__(self, registry: ServiceRegistry, service: str, secret: str, policy: CallPolicy | None = None, *,
                 request_id: Callable[[], str | None] | None = None, placement: Policy | None = None) -> None:
        self.view = ServiceView(registry, service, policy=grpc_only(placement or RoundRobin().pick))
        self._secret = secret
        self.policy = policy or CallPolicy()
        self._request_id = request_id
        self._clients: dict[str, RpcClient] = {}

    async def follow(self) -> None:
        await self.view.follow()

    async def unary(self, path: str, request: Any, reply_type: type[R], *, idempotent: bool) -> R:
        if self.view.snapshot is None:
            try:
                await asyncio.wait_for(self.view.wait_for(lambda _: True), self.policy.timeout)
            except TimeoutError:
                raise NoInstanceAvailable(f"the registry did not list {self.view.service} in time",
                                          service=self.view.service) from None
        refused: set[str] = set()
        while True:
            instance = self.view.pick()
            if instance.grpc in refused:  # the turn came back to one that refused: any other left?
                others = [i for i in candidates(self.view.instances()) if i.grpc and i.grpc not in refused]
                if not others:
                    raise NoInstanceAvailable(f"every instance of {self.view.service} refused the connection",
                                              service=self.view.service)
                instance = others[0]
            try:
                return await self._client(instance).unary(path, request, reply_type, idempotent=idempotent)
            except Unavailable as err:
                if err.details.get("reason") != REFUSED:
                    raise
                refused.add(instance.grpc)  # killed, its lease not run out yet: the call never reached it

    def _client(self, instance: ServiceInstance) -> RpcClient:
        client = self._clients.get(instance.grpc)
        if client is None:
            live = {i.grpc for i in self.view.instances()}
            for gone in [a for a in self._clients if a not in live]:  # instances that left the registry
                self._clients.pop(gone).close()
            client = self._clients[instance.grpc] = RpcClient.to(instance.grpc, self._secret, self.policy,
                                                                 request_id=self._request_id)
        return client

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
