"""Webhook use cases: administration, turning events into deliveries, and delivering them."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import Callable

from attrs import define, field

from domain.shared.errors import ConcurrentModification
from domain.shared.events import DomainEvent
from domain.shared.ids import new_id
from domain.shared.pagination import Page, PageRequest
from domain.users.errors import NotAllowed
from domain.users.tokens import Principal
from domain.webhooks.errors import WebhookDeliveryNotFound, WebhookEndpointNotFound
from domain.webhooks.model import (
    DeliveryStatus,
    DisablePolicy,
    RetryPolicy,
    WebhookDelivery,
    WebhookEndpoint,
    check_description,
    check_kinds,
    kind_of,
)
from domain.webhooks.signing import SIGNATURE_HEADER, new_secret, signature_header
from domain.webhooks.urls import TargetRules
from ports.clock import Clock
from ports.webhooks import WebhookSender, WebhookStore

SAVE_ATTEMPTS = 5
USER_AGENT = "Confero-Webhooks/1"


@define(kw_only=True)
class WebhookAdminService:
    """Administrators only.  A secret is returned when it is made (create, rotate) and never again."""

    store: WebhookStore
    clock: Clock
    rules: TargetRules = TargetRules()

    async def create(self, actor: Principal, *, url: str, kinds: list[str], description: str = "",
                     ) -> tuple[WebhookEndpoint, str]:
        _require_admin(actor)
        now = self.clock.now()
        endpoint = WebhookEndpoint(id=new_id(), url=self.rules.check_url(url), kinds=check_kinds(kinds),
                                   secret=new_secret(), description=check_description(description),
                                   created_at=now, updated_at=now)
        await self.store.add_endpoint(endpoint)
        return endpoint, endpoint.secret

    async def list(self, actor: Principal, page: PageRequest) -> Page[WebhookEndpoint]:
        _require_admin(actor)
        return await self.store.list_endpoints(page)

    async def get(self, actor: Principal, endpoint_id: str) -> WebhookEndpoint:
        _require_admin(actor)
        return await self.store.get_endpoint(endpoint_id)

    async def update(self, actor: Principal, endpoint_id: str, *, url: str | None = None,
                     kinds: list[str] | None = None, description: str | None = None,
                     enabled: bool | None = None) -> WebhookEndpoint:
        """Enabling a disabled endpoint starts its failure count afresh (what failed stays failed:
        redeliver it)."""
        _require_admin(actor)
        checked_url = self.rules.check_url(url) if url is not None else None
        checked_kinds = check_kinds(kinds) if kinds is not None else None
        checked_description = check_description(description) if description is not None else None
        return await self._change(endpoint_id, lambda e, now: e.change(
            now=now, url=checked_url, kinds=checked_kinds, description=checked_description, enabled=enabled))

    async def rotate_secret(self, actor: Principal, endpoint_id: str) -> tuple[WebhookEndpoint, str]:
        """The new secret signs every attempt from now on, retries of older deliveries included."""
        _require_admin(actor)
        secret = new_secret()
        endpoint = await self._change(endpoint_id, lambda e, now: e.rotate_secret(secret, now=now))
        return endpoint, secret

    async def delete(self, actor: Principal, endpoint_id: str) -> None:
        _require_admin(actor)
        await self.store.delete_endpoint(endpoint_id)

    async def deliveries(self, actor: Principal, endpoint_id: str, page: PageRequest) -> Page[WebhookDelivery]:
        _require_admin(actor)
        await self.store.get_endpoint(endpoint_id)
        return await self.store.list_deliveries(endpoint_id, page)

    async def redeliver(self, actor: Principal, endpoint_id: str, delivery_id: str) -> WebhookDelivery:
        """A new delivery of the same body, due now (the receiver sees the same event id again)."""
        _require_admin(actor)
        original = await self.store.get_delivery(delivery_id)
        if original.endpoint_id != endpoint_id:
            raise WebhookDeliveryNotFound("no such delivery for this endpoint", delivery_id=delivery_id)
        again = original.again(delivery_id=new_id(), now=self.clock.now())
        await self.store.enqueue([again])
        return again

    async def _change(self, endpoint_id: str, mutate) -> WebhookEndpoint:  # type: ignore[no-untyped-def]
        for _ in range(SAVE_ATTEMPTS):
            endpoint = await self.store.get_endpoint(endpoint_id)
            mutate(endpoint, self.clock.now())
            try:
                await self.store.save_endpoint(endpoint)
            except ConcurrentModification:
                continue
            return endpoint
        raise ConcurrentModification("the endpoint kept changing; try again")


@define(kw_only=True)
class WebhookDispatcher:
    """An event subscriber: one delivery per enabled endpoint that wants the event's kind, stored
    before the event is acknowledged (so a crash redelivers the event, and ``dedupe_key`` keeps the
    delivery single)."""

    store: WebhookStore
    clock: Clock

    async def __call__(self, event: DomainEvent) -> None:
        kind = kind_of(event)
        if kind is None:
            return
        endpoints = await self.store.endpoints_for(kind)
        if endpoints:
            now = self.clock.now()
            await self.store.enqueue([WebhookDelivery.for_event(e.id, event, kind, delivery_id=new_id(), now=now)
                                      for e in endpoints])


@define(kw_only=True)
class WebhookDeliverer:
    """Sends due deliveries: signs each attempt with the endpoint's current secret and the time of the
    attempt, records the outcome in the delivery log, schedules retries (RetryPolicy) and disables
    endpoints that keep failing (DisablePolicy).  Safe to run in several processes (claims are leased)."""

    store: WebhookStore
    sender: WebhookSender
    clock: Clock
    retry: RetryPolicy = RetryPolicy()
    disable: DisablePolicy = DisablePolicy()
    lease: dt.timedelta = dt.timedelta(minutes=2)
    batch: int = 50
    keep_log: dt.timedelta = dt.timedelta(days=30)
    jitter: Callable[[], float] = field(default=random.random)

    async def purge_log(self) -> int:
        """Forgets finished deliveries older than ``keep_log`` (the log would grow without end)."""
        return await self.store.purge_deliveries(self.clock.now() - self.keep_log)

    async def deliver_due(self) -> int:
        """One round: claims what is due and attempts it; returns how many attempts it made."""
        due = await self.store.claim_due(self.clock.now(), self.batch, self.lease)
        results = await asyncio.gather(*(self._attempt(d) for d in due))
        return sum(results)

    async def _attempt(self, delivery: WebhookDelivery) -> int:
        try:
            endpoint = await self.store.get_endpoint(delivery.endpoint_id)
        except WebhookEndpointNotFound:
            return 0  # deleted with its deliveries
        if not endpoint.enabled:
            delivery.abandon(now=self.clock.now(), reason="the endpoint is disabled")
            await self.store.save_delivery(delivery)
            return 0
        now = self.clock.now()
        body = delivery.body.encode()
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
                   SIGNATURE_HEADER: signature_header(endpoint.secret, int(now.timestamp()), body),
                   "Confero-Delivery": delivery.id, "Confero-Event": delivery.kind,
                   "Confero-Event-Id": delivery.event_id}
        result = await self.sender.send(endpoint.url, body, headers)
        done = self.clock.now()
        if result.ok:
            delivery.succeeded(now=done, status=result.status or 200)
        else:
            delivery.failed(now=done, status=result.status, error=result.error or f"HTTP {result.status}",
                            policy=self.retry, jitter=self.jitter())
        await self.store.save_delivery(delivery)
        await self._count(endpoint.id, result.ok, done)
        return 1

    async def _count(self, endpoint_id: str, ok: bool, now: dt.datetime) -> None:
        for _ in range(SAVE_ATTEMPTS):
            try:
                endpoint = await self.store.get_endpoint(endpoint_id)
            except WebhookEndpointNotFound:
                return
            if ok:
                if endpoint.consecutive_failures == 0:
                    return
                endpoint.succeeded()
            else:
                endpoint.failed(now, self.disable)
            try:
                await self.store.save_endpoint(endpoint)
            except ConcurrentModification:
                continue
            return


def _require_admin(actor: Principal) -> None:
    if not actor.is_admin:
        raise NotAllowed("administrators only")


__all__ = ["DeliveryStatus", "WebhookAdminService", "WebhookDeliverer", "WebhookDispatcher"]
