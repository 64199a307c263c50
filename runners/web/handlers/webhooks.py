"""Webhook endpoints for administrators: register, list, change, delete, rotate the secret, and the
delivery log with redelivery (domain/webhooks/service.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import Field, model_validator

from domain.shared.pagination import Page
from domain.webhooks.model import KINDS, WebhookDelivery as DeliveryRecord, WebhookEndpoint as EndpointRecord
from runners.shapes import Id, NullableStamp, Shape, Stamp, text
from runners.web.context import principal, services
from runners.web.replies import Reply, json_reply
from runners.web.routing import Endpoint
from runners.web.validation import PAGING, RequestError, page_request, parse_body, path_id

TAG = "admin"
Kind = Literal[KINDS]  # type: ignore[valid-type]
Kinds = Annotated[list[Kind], Field(min_length=1, max_length=len(KINDS))]  # type: ignore[valid-type]


class CreateWebhookRequest(Shape):
    url: text(2048, 1, description="https:// (http:// to a loopback host outside production)")
    kinds: Kinds
    description: text(200) = None


class UpdateWebhookRequest(Shape):
    url: text(2048, 1) = None
    kinds: Kinds = None
    description: text(200) = None
    enabled: bool = None

    @model_validator(mode="after")
    def _not_empty(self) -> Any:
        if not self.model_fields_set:
            raise ValueError("send at least one field")
        return self


class WebhookEndpoint(Reply):
    id: Id
    url: str
    kinds: list[str]
    description: str
    enabled: bool
    disabled_reason: str | None
    consecutive_failures: int
    created_at: Stamp
    updated_at: Stamp

    @classmethod
    def of(cls, e: EndpointRecord) -> WebhookEndpoint:
        return cls.make(id=e.id, url=e.url, kinds=list(e.kinds), description=e.description, enabled=e.enabled,
                        disabled_reason=e.disabled_reason, consecutive_failures=e.consecutive_failures,
                        created_at=e.created_at, updated_at=e.updated_at)


class WebhookSecret(Reply):
    """The endpoint and its signing secret: shown in this reply only, never again."""

    endpoint: WebhookEndpoint
    secret: str

    @classmethod
    def of(cls, e: EndpointRecord, secret: str) -> WebhookSecret:
        return cls.make(endpoint=WebhookEndpoint.of(e), secret=secret)


class WebhookEndpointPage(Reply):
    items: list[WebhookEndpoint]
    total: int
    offset: int
    limit: int

    @classmethod
    def of(cls, p: Page[EndpointRecord]) -> WebhookEndpointPage:
        return cls.make(items=[WebhookEndpoint.of(e) for e in p.items], total=p.total, offset=p.offset, limit=p.limit)


class WebhookDelivery(Reply):
    id: Id
    endpoint_id: Id
    event_id: str
    kind: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: Stamp
    created_at: Stamp
    last_attempt_at: NullableStamp
    response_status: int | None
    last_error: str | None
    delivered_at: NullableStamp
    redelivery_of: str | None

    @classmethod
    def of(cls, d: DeliveryRecord) -> WebhookDelivery:
        return cls.make(id=d.id, endpoint_id=d.endpoint_id, event_id=d.event_id, kind=d.kind, status=d.status.value,
                        attempts=d.attempts, next_attempt_at=d.next_attempt_at, created_at=d.created_at,
                        last_attempt_at=d.last_attempt_at, response_status=d.response_status,
                        last_error=d.last_error, delivered_at=d.delivered_at, redelivery_of=d.redelivery_of)


class WebhookDeliveryPage(Reply):
    items: list[WebhookDelivery]
    total: int
    offset: int
    limit: int

    @classmethod
    def of(cls, p: Page[DeliveryRecord]) -> WebhookDeliveryPage:
        return cls.make(items=[WebhookDelivery.of(d) for d in p.items], total=p.total, offset=p.offset, limit=p.limit)


def _admin(request: web.Request):  # type: ignore[no-untyped-def]
    hooks = services(request).webhooks
    if hooks is None:
        raise RequestError(404, "not_found", "webhooks are not served by this process")
    return hooks


async def create_webhook(request: web.Request) -> web.Response:
    body = await parse_body(request, CreateWebhookRequest)
    endpoint, secret = await _admin(request).create(principal(request), url=body.url, kinds=list(body.kinds),
                                                    description=body.description or "")
    return json_reply(WebhookSecret.of(endpoint, secret), status=201)


async def list_webhooks(request: web.Request) -> web.Response:
    return json_reply(WebhookEndpointPage.of(await _admin(request).list(principal(request), page_request(request))))


async def get_webhook(request: web.Request) -> web.Response:
    return json_reply(WebhookEndpoint.of(await _admin(request).get(principal(request), path_id(request))))


async def update_webhook(request: web.Request) -> web.Response:
    endpoint_id = path_id(request)
    body = await parse_body(request, UpdateWebhookRequest)
    endpoint = await _admin(request).update(
        principal(request), endpoint_id, url=body.url, description=body.description, enabled=body.enabled,
        kinds=list(body.kinds) if body.kinds is not None else None)
    return json_reply(WebhookEndpoint.of(endpoint))


async def delete_webhook(request: web.Request) -> web.Response:
    await _admin(request).delete(principal(request), path_id(request))
    return web.Response(status=204)


async def rotate_secret(request: web.Request) -> web.Response:
    endpoint, secret = await _admin(request).rotate_secret(principal(request), path_id(request))
    return json_reply(WebhookSecret.of(endpoint, secret))


async def list_deliveries(request: web.Request) -> web.Response:
    found = await _admin(request).deliveries(principal(request), path_id(request), page_request(request))
    return json_reply(WebhookDeliveryPage.of(found))


async def redeliver(request: web.Request) -> web.Response:
    endpoint_id, delivery_id = path_id(request), path_id(request, "delivery_id")
    again = await _admin(request).redeliver(principal(request), endpoint_id, delivery_id)
    return json_reply(WebhookDelivery.of(again), status=202)


BASE = "/api/v1/admin/webhooks"
ROUTES = (
    Endpoint.post(BASE, create_webhook, tag=TAG, body=CreateWebhookRequest, status=201, response=WebhookSecret,
                  errors=(400, 401, 403, 413, 415, 422),
                  summary="Register a webhook endpoint; the reply holds its signing secret, shown once (admin)"),
    Endpoint.get(BASE, list_webhooks, tag=TAG, response=WebhookEndpointPage, query=PAGING, errors=(401, 403, 422),
                 summary="Webhook endpoints, oldest first (admin)"),
    Endpoint.get(BASE + "/{id}", get_webhook, tag=TAG, response=WebhookEndpoint, errors=(401, 403, 404),
                 summary="A webhook endpoint (admin)"),
    Endpoint.put(BASE + "/{id}", update_webhook, tag=TAG, body=UpdateWebhookRequest, response=WebhookEndpoint,
                 errors=(400, 401, 403, 404, 409, 413, 415, 422),
                 summary="Change a webhook endpoint; enabling it again resets its failure count (admin)"),
    Endpoint.delete(BASE + "/{id}", delete_webhook, tag=TAG, status=204, errors=(401, 403, 404),
                    summary="Delete a webhook endpoint and its delivery log (admin)"),
    Endpoint.post(BASE + "/{id}/rotate-secret", rotate_secret, tag=TAG, response=WebhookSecret,
                  errors=(401, 403, 404, 409),
                  summary="Replace the signing secret; the reply holds the new one, shown once (admin)"),
    Endpoint.get(BASE + "/{id}/deliveries", list_deliveries, tag=TAG, response=WebhookDeliveryPage, query=PAGING,
                 errors=(401, 403, 404, 422), summary="The endpoint's delivery log, newest first (admin)"),
    Endpoint.post(BASE + "/{id}/deliveries/{delivery_id}/redeliver", redeliver, tag=TAG, status=202,
                  response=WebhookDelivery, errors=(401, 403, 404),
                  summary="Deliver a delivery's event again, as a new delivery due now (admin)"),
)
