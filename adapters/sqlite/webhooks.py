"""WebhookStore on SQLite (schema: migrations/0007_webhooks.sql).  One connection serves the process
(database.py), so a claim's SELECT and UPDATE in one transaction are atomic."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from adapters.sqlite.database import SqliteDatabase
from adapters.sqlite.timeconv import from_us, from_us_or_none, to_us, to_us_or_none
from domain.shared.errors import AlreadyExists, ConcurrentModification
from domain.shared.pagination import Page, PageRequest
from domain.webhooks.errors import WebhookDeliveryNotFound, WebhookEndpointNotFound
from domain.webhooks.model import DeliveryStatus, WebhookDelivery, WebhookEndpoint

ENDPOINT = ("id, url, kinds, secret, description, enabled, disabled_reason, consecutive_failures, failing_since,"
            " created_at, updated_at, version")
DELIVERY = ("id, endpoint_id, event_id, kind, body, dedupe_key, status, attempts, next_attempt_at, created_at,"
            " last_attempt_at, response_status, last_error, delivered_at, redelivery_of")


def _endpoint(r: Any) -> WebhookEndpoint:
    (id_, url, kinds, secret, description, enabled, reason, failures, since, created, updated, version) = r
    return WebhookEndpoint(id=id_, url=url, kinds=tuple(json.loads(kinds)), secret=secret, description=description,
                           enabled=bool(enabled), disabled_reason=reason, consecutive_failures=failures,
                           failing_since=from_us_or_none(since), created_at=from_us(created),
                           updated_at=from_us(updated), version=version)


def _delivery(r: Any) -> WebhookDelivery:
    (id_, endpoint_id, event_id, kind, body, key, status, attempts, next_at, created, last_at, response, error,
     delivered, again) = r
    return WebhookDelivery(id=id_, endpoint_id=endpoint_id, event_id=event_id, kind=kind, body=body, dedupe_key=key,
                           status=DeliveryStatus(status), attempts=attempts, next_attempt_at=from_us(next_at),
                           created_at=from_us(created), last_attempt_at=from_us_or_none(last_at),
                           response_status=response, last_error=error, delivered_at=from_us_or_none(delivered),
                           redelivery_of=again)


class SqliteWebhookStore:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def _one(self, sql: str, args: tuple[Any, ...]) -> Any:
        async with self._db.connection() as conn:
            async with conn.execute(sql, args) as cur:
                return await cur.fetchone()

    async def _all(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        async with self._db.connection() as conn:
            async with conn.execute(sql, args) as cur:
                return list(await cur.fetchall())

    async def add_endpoint(self, e: WebhookEndpoint) -> None:
        unique = {"webhook_endpoints.id": lambda: AlreadyExists("endpoint exists", endpoint_id=e.id)}
        async with self._db.connection(unique) as conn:
            await conn.execute(f"INSERT INTO webhook_endpoints ({ENDPOINT}) VALUES ({', '.join('?' * 12)})",
                               (e.id, e.url, json.dumps(list(e.kinds)), e.secret, e.description, int(e.enabled),
                                e.disabled_reason, e.consecutive_failures, to_us_or_none(e.failing_since),
                                to_us(e.created_at), to_us(e.updated_at), e.version))

    async def get_endpoint(self, endpoint_id: str) -> WebhookEndpoint:
        row = await self._one(f"SELECT {ENDPOINT} FROM webhook_endpoints WHERE id = ?", (endpoint_id,))
        if row is None:
            raise WebhookEndpointNotFound("no such webhook endpoint", endpoint_id=endpoint_id)
        return _endpoint(row)

    async def save_endpoint(self, e: WebhookEndpoint) -> None:
        async with self._db.connection() as conn:
            cur = await conn.execute(
                "UPDATE webhook_endpoints SET url = ?, kinds = ?, secret = ?, description = ?, enabled = ?,"
                " disabled_reason = ?, consecutive_failures = ?, failing_since = ?, updated_at = ?,"
                " version = version + 1 WHERE id = ? AND version = ?",
                (e.url, json.dumps(list(e.kinds)), e.secret, e.description, int(e.enabled), e.disabled_reason,
                 e.consecutive_failures, to_us_or_none(e.failing_since), to_us(e.updated_at), e.id, e.version))
            if cur.rowcount == 0:
                async with conn.execute("SELECT 1 FROM webhook_endpoints WHERE id = ?", (e.id,)) as found:
                    if await found.fetchone() is None:
                        raise WebhookEndpointNotFound("no such webhook endpoint", endpoint_id=e.id)
                raise ConcurrentModification("the endpoint changed meanwhile")
        e.version += 1

    async def delete_endpoint(self, endpoint_id: str) -> None:
        async with self._db.connection() as conn:
            cur = await conn.execute("DELETE FROM webhook_endpoints WHERE id = ?", (endpoint_id,))
        if cur.rowcount == 0:
            raise WebhookEndpointNotFound("no such webhook endpoint", endpoint_id=endpoint_id)

    async def list_endpoints(self, page: PageRequest) -> Page[WebhookEndpoint]:
        rows = await self._all(f"SELECT {ENDPOINT} FROM webhook_endpoints ORDER BY created_at, id LIMIT ? OFFSET ?",
                               (page.limit, page.offset))
        (total,) = await self._one("SELECT count(*) FROM webhook_endpoints", ())
        return Page(tuple(_endpoint(r) for r in rows), total, page.offset, page.limit)

    async def endpoints_for(self, kind: str) -> list[WebhookEndpoint]:
        rows = await self._all(f"SELECT {ENDPOINT} FROM webhook_endpoints WHERE enabled = 1 AND EXISTS"
                               " (SELECT 1 FROM json_each(kinds) WHERE value = ?) ORDER BY created_at, id", (kind,))
        return [_endpoint(r) for r in rows]

    async def enqueue(self, deliveries: Sequence[WebhookDelivery]) -> int:
        stored = 0
        async with self._db.transaction() as conn:
            for d in deliveries:
                cur = await conn.execute(
                    f"INSERT INTO webhook_deliveries ({DELIVERY}) SELECT {', '.join('?' * 15)}"
                    " WHERE EXISTS (SELECT 1 FROM webhook_endpoints WHERE id = ?) ON CONFLICT (dedupe_key) DO NOTHING",
                    (d.id, d.endpoint_id, d.event_id, d.kind, d.body, d.dedupe_key, d.status.value, d.attempts,
                     to_us(d.next_attempt_at), to_us(d.created_at), to_us_or_none(d.last_attempt_at),
                     d.response_status, d.last_error, to_us_or_none(d.delivered_at), d.redelivery_of, d.endpoint_id))
                stored += cur.rowcount
        return stored

    async def claim_due(self, now: dt.datetime, limit: int, lease: dt.timedelta) -> list[WebhookDelivery]:
        async with self._db.transaction() as conn:
            async with conn.execute(f"SELECT {DELIVERY} FROM webhook_deliveries WHERE status = 'pending'"
                                    " AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
                                    (to_us(now), limit)) as cur:
                due = [_delivery(r) for r in await cur.fetchall()]
            if due:
                await conn.execute(f"UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id IN"
                                   f" ({', '.join('?' * len(due))})", (to_us(now + lease), *(d.id for d in due)))
        for d in due:
            d.next_attempt_at = now + lease
        return due

    async def save_delivery(self, d: WebhookDelivery) -> None:
        async with self._db.connection() as conn:
            cur = await conn.execute(
                "UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, last_attempt_at = ?,"
                " response_status = ?, last_error = ?, delivered_at = ? WHERE id = ?",
                (d.status.value, d.attempts, to_us(d.next_attempt_at), to_us_or_none(d.last_attempt_at),
                 d.response_status, d.last_error, to_us_or_none(d.delivered_at), d.id))
        if cur.rowcount == 0:
            raise WebhookDeliveryNotFound("no such delivery", delivery_id=d.id)

    async def get_delivery(self, delivery_id: str) -> WebhookDelivery:
        row = await self._one(f"SELECT {DELIVERY} FROM webhook_deliveries WHERE id = ?", (delivery_id,))
        if row is None:
            raise WebhookDeliveryNotFound("no such delivery", delivery_id=delivery_id)
        return _delivery(row)

    async def list_deliveries(self, endpoint_id: str, page: PageRequest) -> Page[WebhookDelivery]:
        rows = await self._all(f"SELECT {DELIVERY} FROM webhook_deliveries WHERE endpoint_id = ?"
                               " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
                               (endpoint_id, page.limit, page.offset))
        (total,) = await self._one("SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = ?", (endpoint_id,))
        return Page(tuple(_delivery(r) for r in rows), total, page.offset, page.limit)

    async def purge_deliveries(self, before: dt.datetime) -> int:
        async with self._db.connection() as conn:
            cur = await conn.execute("DELETE FROM webhook_deliveries WHERE status <> 'pending' AND created_at < ?",
                                     (to_us(before),))
        return cur.rowcount
