"""WebhookStore on PostgreSQL (schema: migrations/0009_webhooks.sql)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import asyncpg

from adapters.postgres.pool import acquire, affected
from domain.shared.errors import AlreadyExists, ConcurrentModification
from domain.shared.pagination import Page, PageRequest
from domain.webhooks.errors import WebhookDeliveryNotFound, WebhookEndpointNotFound
from domain.webhooks.model import DeliveryStatus, WebhookDelivery, WebhookEndpoint

ENDPOINT = ("id, url, kinds, secret, description, enabled, disabled_reason, consecutive_failures, failing_since,"
            " created_at, updated_at, version")
DELIVERY = ("id, endpoint_id, event_id, kind, body, dedupe_key, status, attempts, next_attempt_at, created_at,"
            " last_attempt_at, response_status, last_error, delivered_at, redelivery_of")


def endpoint_from_row(r: asyncpg.Record) -> WebhookEndpoint:
    return WebhookEndpoint(id=r["id"], url=r["url"], kinds=tuple(r["kinds"]), secret=r["secret"],
                           description=r["description"], enabled=r["enabled"], disabled_reason=r["disabled_reason"],
                           consecutive_failures=r["consecutive_failures"], failing_since=r["failing_since"],
                           created_at=r["created_at"], updated_at=r["updated_at"], version=r["version"])


def delivery_from_row(r: asyncpg.Record) -> WebhookDelivery:
    return WebhookDelivery(id=r["id"], endpoint_id=r["endpoint_id"], event_id=r["event_id"], kind=r["kind"],
                           body=r["body"], dedupe_key=r["dedupe_key"], status=DeliveryStatus(r["status"]),
                           attempts=r["attempts"], next_attempt_at=r["next_attempt_at"], created_at=r["created_at"],
                           last_attempt_at=r["last_attempt_at"], response_status=r["response_status"],
                           last_error=r["last_error"], delivered_at=r["delivered_at"],
                           redelivery_of=r["redelivery_of"])


def _delivery_values(d: WebhookDelivery) -> tuple[object, ...]:
    return (d.id, d.endpoint_id, d.event_id, d.kind, d.body, d.dedupe_key, d.status.value, d.attempts,
            d.next_attempt_at, d.created_at, d.last_attempt_at, d.response_status, d.last_error, d.delivered_at,
            d.redelivery_of)


class PostgresWebhookStore:
    def __init__(self, pool: asyncpg.Pool, *, acquire_timeout: float = 5.0) -> None:
        self._pool = pool
        self._timeout = acquire_timeout

    async def add_endpoint(self, e: WebhookEndpoint) -> None:
        unique = {"webhook_endpoints_pkey": lambda: AlreadyExists("endpoint exists", endpoint_id=e.id)}
        async with acquire(self._pool, self._timeout, unique) as conn:
            await conn.execute(f"INSERT INTO webhook_endpoints ({ENDPOINT}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
                               " $9, $10, $11, $12)", e.id, e.url, list(e.kinds), e.secret, e.description, e.enabled,
                               e.disabled_reason, e.consecutive_failures, e.failing_since, e.created_at,
                               e.updated_at, e.version)

    async def get_endpoint(self, endpoint_id: str) -> WebhookEndpoint:
        async with acquire(self._pool, self._timeout) as conn:
            row = await conn.fetchrow(f"SELECT {ENDPOINT} FROM webhook_endpoints WHERE id = $1", endpoint_id)
        if row is None:
            raise WebhookEndpointNotFound("no such webhook endpoint", endpoint_id=endpoint_id)
        return endpoint_from_row(row)

    async def save_endpoint(self, e: WebhookEndpoint) -> None:
        async with acquire(self._pool, self._timeout) as conn:
            status = await conn.execute(
                "UPDATE webhook_endpoints SET url = $2, kinds = $3, secret = $4, description = $5, enabled = $6,"
                " disabled_reason = $7, consecutive_failures = $8, failing_since = $9, updated_at = $10,"
                " version = version + 1 WHERE id = $1 AND version = $11", e.id, e.url, list(e.kinds), e.secret,
                e.description, e.enabled, e.disabled_reason, e.consecutive_failures, e.failing_since, e.updated_at,
                e.version)
            if affected(status) == 0:
                if await conn.fetchval("SELECT 1 FROM webhook_endpoints WHERE id = $1", e.id) is None:
                    raise WebhookEndpointNotFound("no such webhook endpoint", endpoint_id=e.id)
                raise ConcurrentModification("the endpoint changed meanwhile")
        e.version += 1

    async def delete_endpoint(self, endpoint_id: str) -> None:
        async with acquire(self._pool, self._timeout) as conn:
            status = await conn.execute("DELETE FROM webhook_endpoints WHERE id = $1", endpoint_id)
        if affected(status) == 0:
            raise WebhookEndpointNotFound("no such webhook endpoint", endpoint_id=endpoint_id)

    async def list_endpoints(self, page: PageRequest) -> Page[WebhookEndpoint]:
        async with acquire(self._pool, self._timeout) as conn:
            rows = await conn.fetch(f"SELECT {ENDPOINT}, count(*) OVER () AS total FROM webhook_endpoints"
                                    " ORDER BY created_at, id OFFSET $1 LIMIT $2", page.offset, page.limit)
            total = rows[0]["total"] if rows else await conn.fetchval("SELECT count(*) FROM webhook_endpoints")
        return Page(tuple(endpoint_from_row(r) for r in rows), total, page.offset, page.limit)

    async def endpoints_for(self, kind: str) -> list[WebhookEndpoint]:
        async with acquire(self._pool, self._timeout) as conn:
            rows = await conn.fetch(f"SELECT {ENDPOINT} FROM webhook_endpoints WHERE enabled AND $1 = ANY(kinds)"
                                    " ORDER BY created_at, id", kind)
        return [endpoint_from_row(r) for r in rows]

    async def enqueue(self, deliveries: Sequence[WebhookDelivery]) -> int:
        if not deliveries:
            return 0
        async with acquire(self._pool, self._timeout) as conn:
            # Deliveries for an endpoint deleted meanwhile are skipped by the join, as duplicates are by
            # the unique key: neither is an error for the event's subscriber.
            status = await conn.execute(
                f"INSERT INTO webhook_deliveries ({DELIVERY})"
                " SELECT d.* FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],"
                " $7::text[], $8::int[], $9::timestamptz[], $10::timestamptz[], $11::timestamptz[], $12::int[],"
                " $13::text[], $14::timestamptz[], $15::text[]) AS d(id, endpoint_id, event_id, kind, body,"
                " dedupe_key, status, attempts, next_attempt_at, created_at, last_attempt_at, response_status,"
                " last_error, delivered_at, redelivery_of)"
                " JOIN webhook_endpoints e ON e.id = d.endpoint_id"
                " ON CONFLICT (dedupe_key) DO NOTHING",
                *[list(column) for column in zip(*(_delivery_values(d) for d in deliveries), strict=True)])
        return affected(status)

    async def claim_due(self, now: dt.datetime, limit: int, lease: dt.timedelta) -> list[WebhookDelivery]:
        async with acquire(self._pool, self._timeout) as conn:
            rows = await conn.fetch(
                f"UPDATE webhook_deliveries SET next_attempt_at = $2 WHERE id IN ("
                " SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $1"
                " ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)"
                f" RETURNING {DELIVERY}", now, now + lease, limit)
        return sorted((delivery_from_row(r) for r in rows), key=lambda d: d.id)

    async def save_delivery(self, d: WebhookDelivery) -> None:
        async with acquire(self._pool, self._timeout) as conn:
            status = await conn.execute(
                "UPDATE webhook_deliveries SET status = $2, attempts = $3, next_attempt_at = $4,"
                " last_attempt_at = $5, response_status = $6, last_error = $7, delivered_at = $8 WHERE id = $1",
                d.id, d.status.value, d.attempts, d.next_attempt_at, d.last_attempt_at, d.response_status,
                d.last_error, d.delivered_at)
        if affected(status) == 0:
            raise WebhookDeliveryNotFound("no such delivery", delivery_id=d.id)

    async def get_delivery(self, delivery_id: str) -> WebhookDelivery:
        async with acquire(self._pool, self._timeout) as conn:
            row = await conn.fetchrow(f"SELECT {DELIVERY} FROM webhook_deliveries WHERE id = $1", delivery_id)
        if row is None:
            raise WebhookDeliveryNotFound("no such delivery", delivery_id=delivery_id)
        return delivery_from_row(row)

    async def list_deliveries(self, endpoint_id: str, page: PageRequest) -> Page[WebhookDelivery]:
        async with acquire(self._pool, self._timeout) as conn:
            rows = await conn.fetch(f"SELECT {DELIVERY} FROM webhook_deliveries WHERE endpoint_id = $1"
                                    " ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT $3",
                                    endpoint_id, page.offset, page.limit)
            total = await conn.fetchval("SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1", endpoint_id)
        return Page(tuple(delivery_from_row(r) for r in rows), total, page.offset, page.limit)

    async def purge_deliveries(self, before: dt.datetime) -> int:
        async with acquire(self._pool, self._timeout) as conn:
            status = await conn.execute("DELETE FROM webhook_deliveries WHERE status <> 'pending' AND created_at < $1",
                                        before)
        return affected(status)
