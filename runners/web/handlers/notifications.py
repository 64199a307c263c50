"""The caller's notifications, preferences and push subscriptions; unsubscribe links from emails."""

from __future__ import annotations

from aiohttp import web

from domain.notifications.service import NotificationService
from runners.web.context import actor, services
from runners.web.notification_shapes import (Notification, NotificationPage, Preferences, PreferencesRequest,
                                             PushKey, PushSubscriptionReply, PushSubscriptionRequest, ReadAll,
                                             Unsubscribed)
from runners.web.replies import json_reply
from runners.web.routing import Endpoint, QueryParam
from runners.web.validation import PAGING, RequestError, page_request, parse_body, path_id

TAG = "notifications"
BASE = "/api/v1/notifications"
MAX_TOKEN = 256
MAX_ENDPOINT = 2048


def _service(request: web.Request) -> NotificationService:
    parts = services(request).notifications
    if parts is None:
        raise RequestError(503, "unavailable", "notifications are not served by this process")
    return parts.service


def _flag(request: web.Request, name: str) -> bool:
    raw = request.query.get(name, "false")
    if raw not in ("true", "false"):
        raise RequestError(422, "invalid_request", f"{name} must be true or false", field=name)
    return raw == "true"


async def list_notifications(request: web.Request) -> web.Response:
    inbox = await _service(request).inbox(actor(request), page_request(request), _flag(request, "unread_only"))
    return json_reply(NotificationPage.of(inbox))


async def mark_read(request: web.Request) -> web.Response:
    return json_reply(Notification.of(await _service(request).mark_read(actor(request), path_id(request))))


async def mark_all_read(request: web.Request) -> web.Response:
    return json_reply(ReadAll.make(updated=await _service(request).mark_all_read(actor(request))))


async def get_preferences(request: web.Request) -> web.Response:
    return json_reply(Preferences.of(await _service(request).preferences_of(actor(request))))


async def put_preferences(request: web.Request) -> web.Response:
    body = await parse_body(request, PreferencesRequest)
    svc = _service(request)
    current = await svc.preferences_of(actor(request))
    return json_reply(Preferences.of(await svc.set_preferences(actor(request), **body.changes(current))))


async def push_key(request: web.Request) -> web.Response:
    parts = services(request).notifications
    return json_reply(PushKey.make(public_key=(parts.vapid_public_key or None) if parts else None))


async def add_push_subscription(request: web.Request) -> web.Response:
    body = await parse_body(request, PushSubscriptionRequest)
    sub = await _service(request).subscribe_push(actor(request), body.endpoint, body.keys.p256dh, body.keys.auth)
    return json_reply(PushSubscriptionReply.make(endpoint=sub.endpoint), status=201)


async def remove_push_subscription(request: web.Request) -> web.Response:
    endpoint = request.query.get("endpoint", "")
    if not endpoint or len(endpoint) > MAX_ENDPOINT:
        raise RequestError(422, "invalid_request", "endpoint is required (the subscription's URL)", field="endpoint")
    await _service(request).unsubscribe_push(actor(request), endpoint)
    return web.Response(status=204)


async def follow_unsubscribe_link(request: web.Request) -> web.Response:
    return await _unsubscribe(request)


async def one_click_unsubscribe(request: web.Request) -> web.Response:
    # RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click"; the token in the URL is what counts.
    return await _unsubscribe(request)


async def _unsubscribe(request: web.Request) -> web.Response:
    token = request.query.get("token", "")
    if not token or len(token) > MAX_TOKEN:
        raise RequestError(422, "invalid_unsubscribe_token", "the unsubscribe link is not valid", field="token")
    kind, channel = await _service(request).unsubscribe(token)
    return json_reply(Unsubscribed.make(kind=kind.value, channel=channel.value))


UNREAD_ONLY = QueryParam(name="unread_only", schema={"type": "boolean", "default": False})
ENDPOINT = QueryParam(name="endpoint", schema={"type": "string", "maxLength": MAX_ENDPOINT},
                      description="the push subscription's endpoint URL")
TOKEN = QueryParam(name="token", schema={"type": "string", "maxLength": MAX_TOKEN},
                   description="the token of the email's unsubscribe link")
ROUTES = (
    Endpoint.get(BASE, list_notifications, tag=TAG, response=NotificationPage, query=(*PAGING, UNREAD_ONLY),
                 summary="My notifications, newest first, with my unread count"),
    Endpoint.post(f"{BASE}/read-all", mark_all_read, tag=TAG, response=ReadAll,
                  summary="Mark all my notifications read"),
    Endpoint.get(f"{BASE}/preferences", get_preferences, tag=TAG, response=Preferences,
                 summary="My notification preferences (channels per kind, quiet hours, locale, reminders)"),
    Endpoint.put(f"{BASE}/preferences", put_preferences, tag=TAG, body=PreferencesRequest, response=Preferences,
                 summary="Change my notification preferences (only the fields sent)"),
    Endpoint.get(f"{BASE}/push-key", push_key, tag=TAG, response=PushKey,
                 summary="The VAPID public key for Web Push subscriptions"),
    Endpoint.post(f"{BASE}/push-subscriptions", add_push_subscription, tag=TAG, body=PushSubscriptionRequest,
                  response=PushSubscriptionReply, status=201, summary="Register this browser for Web Push"),
    Endpoint.delete(f"{BASE}/push-subscriptions", remove_push_subscription, tag=TAG, query=(ENDPOINT,),
                    status=204, errors=(404,), summary="Stop Web Push to this browser"),
    Endpoint.get(f"{BASE}/unsubscribe", follow_unsubscribe_link, tag=TAG, auth=False, query=(TOKEN,), response=Unsubscribed,
                 errors=(422,), summary="Follow an email's unsubscribe link (turns that kind off by email)"),
    Endpoint.post(f"{BASE}/unsubscribe", one_click_unsubscribe, tag=TAG, auth=False, query=(TOKEN,), response=Unsubscribed,
                  errors=(422,), summary="One-click unsubscribe (RFC 8058 List-Unsubscribe-Post)"),
    Endpoint.post(f"{BASE}/{{id}}/read", mark_read, tag=TAG, response=Notification,
                  summary="Mark one of my notifications read"),
)
