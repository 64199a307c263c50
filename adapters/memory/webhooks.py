"""WebhookStore in memory: the embedded default and the oracle for the other adapters.  No method
suspends between its reads and writes, so each is atomic with respect to other tasks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from domain.shared.errors import AlreadyExists, ConcurrentModification
from domain.shared.pagination import Page, PageRequest
from domain.webhooks.errors import WebhookDeliveryNotFound, WebhookEndpointNotFound
from domain.webhooks.model import DeliveryStatus, WebhookDelivery, WebhookEndpoint


class InMemoryWebhookStore:
    def __init__(self) -> None:
        self._endpoints: dict[str, WebhookEndpoint] = {}
        self._deliveries: dict[str, WebhookDelivery] = {}
        self._keys: set[str] = set()

    async def add_endpoint(self, endpoint: WebhookEndpoint) -> None:
        if endpoint.id in self._endpoints:
            raise AlreadyExists("endpoint exists", endpoint_id=endpoint.id)
        self._endpoints[endpoint.id] = endpoint.copy()

    async def get_endpoint(self, endpoint_id: str) -> WebhookEndpoint:
        try:
            return self._endpoints[endpoint_id].copy()
        except KeyError:
            raise WebhookEndpointNotFound("no such webhook endpoint", endpoint_id=endpoint_id) from None

    async def save_endpoint(self, endpoint: WebhookEndpoint) -> None:
        stored = await self.get_endpoint(endpoint.id)
        if stored.version != endpoint.version:
            raise ConcurrentModification("the endpoint changed meanwhile")
        endpoint.version += 1
        self._endpoints[endpoint.id] = endpoint.copy()

    async def delete_endpoint(self, endpoint_id: str) -> None:
        await self.get_endpoint(endpoint_id)
        del self._endpoints[endpoint_id]
        for d in [d for d in self._deliveries.values() if d.endpoint_id == endpoint_id]:
            del self._deliveries[d.id]
            self._keys.discard(d.dedupe_key)

    async def list_endpoints(self, page: PageRequest) -> Page[WebhookEndpoint]:
        ordered = sorted(self._endpoints.values(), key=lambda e: (e.created_at, e.id))
        return Page(tuple(e.copy() for e in ordered[page.offset:page.offset + page.limit]), len(ordered),
                    page.offset, page.limit)

    async def endpoints_for(self, kind: str) -> list[WebhookEndpoint]:
        return [e.copy() for e in sorted(self._endpoints.values(), key=lambda e: (e.created_at, e.id))
                if e.wants(kind)]

    async def enqueue(self, deliveries: Sequence[WebhookDelivery]) -> int:
        stored = 0
        for d in deliveries:
            if d.dedupe_key in self._keys or d.endpoint_id not in self._endpoints:
                continue
            self._keys.add(d.dedupe_key)
            self._deliveries[d.id] = d.copy()
            stored += 1
        return stored

    async def claim_due(self, now: dt.datetime, limit: int, lease: dt.timedelta) -> list[WebhookDelivery]:
        due = sorted((d for d in self._deliveries.values()
                      if d.status is DeliveryStatus.PENDING and d.next_attempt_at <= now),
                     key=lambda d: (d.next_attempt_at, d.id))[:limit]
        for d in due:
            d.next_attempt_at = now + lease
        return [d.copy() for d in due]

    async def save_delivery(self, delivery: WebhookDelivery) -> None:
        if delivery.id not in self._deliveries:
            raise WebhookDeliveryNotFound("no such delivery", delivery_id=delivery.id)
        self._deliveries[delivery.id] = delivery.copy()

    async def get_delivery(self, delivery_id: str) -> WebhookDelivery:
        try:
            return self._deliveries[delivery_id].copy()
        except KeyError:
            raise WebhookDeliveryNotFound("no such delivery", delivery_id=delivery_id) from None

    async def list_deliveries(self, endpoint_id: str, page: PageRequest) -> Page[WebhookDelivery]:
        mine = sorted((d for d in self._deliveries.values() if d.endpoint_id == endpoint_id),
                      key=lambda d: (d.created_at, d.id), reverse=True)
        return Page(tuple(d.copy() for d in mine[page.offset:page.offset + page.limit]), len(mine),
                    page.offset, page.limit)

    async def purge_deliveries(self, before: dt.datetime) -> int:
        gone = [d for d in self._deliveries.values() if d.status is not DeliveryStatus.PENDING and d.created_at < before]
        for d in gone:
            del self._deliveries[d.id]
            self._keys.discard(d.dedupe_key)
        return len(gone)
