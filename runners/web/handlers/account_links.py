"""Email verification and password reset by emailed one-time links (domain/users/links_service.py).

The links themselves are built by the notification service from the events; they point at the web
client's pages, ``/static/verify-email.html#token=<token>`` and ``/static/reset-password.html#token=<token>``
(the token in the fragment: never sent to a server, so never in an access log), which call these routes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Literal

from aiohttp import web

from runners.shapes import Shape, text
from runners.web.context import client_address, principal, services
from runners.web.replies import Reply, json_reply
from runners.web.routing import Endpoint
from runners.web.validation import RequestError, parse_body

TAG = "auth"
LINK_TASKS = web.AppKey("account_link_tasks", set)
SHUTDOWN_WAIT_SECONDS = 2.0
log = logging.getLogger(__name__)
Token = text(64, 1, description="the token from the emailed link")


class VerifyEmailRequest(Shape):
    token: Token


class PasswordResetRequest(Shape):
    email: text(254, 1)


class PasswordResetConfirmRequest(Shape):
    token: Token
    password: text(1024, 1)


class LinkAccepted(Reply):
    """The same reply whatever happened behind it: it tells nobody whether an account exists."""

    status: Literal["accepted"]
    message: str

    @classmethod
    def sent(cls, message: str) -> LinkAccepted:
        return cls.make(status="accepted", message=message)


def _links(request: web.Request):  # type: ignore[no-untyped-def]
    links = services(request).links
    if links is None:
        raise RequestError(404, "not_found", "account links are not served by this process")
    return links


async def verify_email(request: web.Request) -> web.Response:
    body = await parse_body(request, VerifyEmailRequest)
    await _links(request).confirm_email(body.token)
    return web.Response(status=204)


async def resend_verification(request: web.Request) -> web.Response:
    await _links(request).resend_verification(principal(request))
    return json_reply(LinkAccepted.sent("a new verification link is on its way"), status=202)


async def request_password_reset(request: web.Request) -> web.Response:
    """Answers once the request is admitted (valid, within its rate limits); looking the account up and
    issuing the link happen after the answer, so its timing tells nothing about the account."""
    body = await parse_body(request, PasswordResetRequest)
    links = _links(request)
    address = await links.admit_reset_request(body.email, client_address(request))
    _in_background(request.app, links.send_reset_link(address))
    return json_reply(LinkAccepted.sent("if an account has this address, a reset link is on its way"), status=202)


def _in_background(app: web.Application, work: Coroutine[Any, Any, None]) -> None:
    task = asyncio.create_task(work, name="password-reset-link")
    pending = app[LINK_TASKS]
    pending.add(task)
    task.add_done_callback(_finished(pending))


def _finished(pending: set[asyncio.Task[None]]) -> Callable[[asyncio.Task[None]], None]:
    def done(task: asyncio.Task[None]) -> None:
        pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # The requester was told "on its way" already; it asks again when no email comes.
            log.error("password reset link not issued", exc_info=task.exception())
    return done


async def finish_link_tasks(app: web.Application) -> None:
    """on_shutdown: links being issued get a moment to commit (then they are given up)."""
    pending = list(app[LINK_TASKS])
    if pending:
        await asyncio.wait(pending, timeout=SHUTDOWN_WAIT_SECONDS)


async def confirm_password_reset(request: web.Request) -> web.Response:
    body = await parse_body(request, PasswordResetConfirmRequest)
    await _links(request).reset_password(body.token, body.password)
    return web.Response(status=204)


ROUTES = (
    Endpoint.post("/api/v1/auth/verify-email", verify_email, summary="Confirm an email address with its link",
                  tag=TAG, auth=False, body=VerifyEmailRequest, status=204, errors=(400, 413, 415, 422)),
    Endpoint.post("/api/v1/auth/verify-email/resend", resend_verification, tag=TAG, status=202,
                  response=LinkAccepted, errors=(401, 409, 429),
                  summary="Send a new verification link to the caller's unverified address"),
    Endpoint.post("/api/v1/auth/password-reset", request_password_reset, tag=TAG, auth=False, status=202,
                  body=PasswordResetRequest, response=LinkAccepted, errors=(400, 413, 415, 422, 429),
                  summary="Email a password reset link (the same answer whether or not the account exists)"),
    Endpoint.post("/api/v1/auth/password-reset/confirm", confirm_password_reset, tag=TAG, auth=False, status=204,
                  body=PasswordResetConfirmRequest, errors=(400, 413, 415, 422),
                  summary="Set a new password with a reset link; ends every session of the account"),
)
