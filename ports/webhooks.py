"""Webhook endpoints and deliveries (domain/webhooks/model.py), and the HTTP client that sends them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Protocol

from attrs import frozen

from domain.shared.pagination import Page, PageRequest
from domain.webhooks.model import WebhookDelivery, WebhookEndpoint


class WebhookStore(Protocol):
    """Endpoints and their deliveries; returns independent copies (mutate, then save).

    Endpoints:
    - ``add_endpoint`` raises AlreadyExists for a taken id; ``get_endpoint`` raises WebhookEndpointNotFound.
    - ``save_endpoint`` raises WebhookEndpointNotFound, or ConcurrentModification when the stored
      version is not ``endpoint.version``; on success it increments ``endpoint.version``.
    - ``delete_endpoint`` removes the endpoint and its deliveries; raises WebhookEndpointNotFound.
    - ``list_endpoints`` orders by creation time then id; ``endpoints_for(kind)`` returns the enabled
      endpoints that want ``kind``.
    Deliveries:
    - ``enqueue`` stores the deliveries whose ``dedupe_key`` is not stored yet and skips the others
      (an event handled twice is delivered once); returns how many it stored.
    - ``claim_due(now, limit, lease)`` atomically takes up to ``limit`` pending deliveries whose
      ``next_attempt_at`` is at or before ``now`` (earliest first), moves their ``next_attempt_at`` to
      ``now + lease`` and returns them so moved: concurrent claims never return one delivery twice, and
      a delivery whose claimer died comes due again after the lease.
    - ``save_delivery`` stores a claimed delivery's new state (raises WebhookDeliveryNotFound when it
      is gone, e.g. its endpoint was deleted); ``get_delivery`` raises WebhookDeliveryNotFound.
    - ``list_deliveries`` returns one endpoint's deliveries, newest first (creation time, then id).
    - ``purge_deliveries(before)`` forgets delivered and failed deliveries created before ``before``
      (pending ones stay whatever their age); returns how many.
    Any method may raise Unavailable.
    """

    async def add_endpoint(self, endpoint: WebhookEndpoint) -> None: ...
    async def get_endpoint(self, endpoint_id: str) -> WebhookEndpoint: ...
    async def save_endpoint(self, endpoint: WebhookEndpoint) -> None: ...
    async def delete_endpoint(self, endpoint_id: str) -> None: ...
    async def list_endpoints(self, page: PageRequest) -> Page[WebhookEndpoint]: ...
    async def endpoints_for(self, kind: str) -> list[WebhookEndpoint]: ...
    async def enqueue(self, deliveries: Sequence[WebhookDelivery]) -> int: ...
    async def claim_due(self, now: dt.datetime, limit: int, lease: dt.timedelta) -> list[WebhookDelivery]: ...
    async def save_delivery(self, delivery: WebhookDelivery) -> None: ...
    async def get_delivery(self, delivery_id: str) -> WebhookDelivery: ...
    async def list_deliveries(self, endpoint_id: str, page: PageRequest) -> Page[WebhookDelivery]: ...
    async def purge_deliveries(self, before: dt.datetime) -> int: ...


@frozen(kw_only=True)
class SendResult:
    """``status`` is the HTTP status received (None when none was: refused, timed out, address not
    allowed); ``error`` says what went wrong, None for a 2xx."""

    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300


class WebhookSender(Protocol):
    """POSTs one delivery.  Never raises for the target's failures (they are the result); follows no
    redirect; bounded in time; refuses to connect to an address its target rules do not allow."""

    async def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult: ...
