"""What every aiohttp app of a process holds, shared by the HTTP and signaling runners.

It lives outside both packages so that neither imports the other (runners.web composes runners.signaling;
the signaling handlers only need these keys and ``error_response``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web
import attrs
from attrs import frozen

from domain.analysis.service import AnalysisService
from domain.captions.service import CaptionService
from domain.meetings.service import MeetingService
from domain.messaging.dead_letters import DeadLetterService
from domain.recordings.service import RecordingService
from domain.rooms.service import RoomService
from domain.users.links_service import AccountLinkService
from domain.users.service import UserService
from domain.webhooks.service import WebhookAdminService
from ports.media import MediaServer
from ports.rooms import SignalBus
from ports.users import Authenticator
from runners.observability.registry import Observability
from runners.observability.tracing import ids
from runners.settings import Settings


@frozen
class Services:
    """What the apps are given by the composition root."""

    users: UserService
    meetings: MeetingService
    rooms: RoomService
    signal_bus: SignalBus
    event_feed: Any  # runners.signaling.tasks.EventFeed
    media: MediaServer
    dead_letters: DeadLetterService
    # cleanup_ctx generators the app runs besides its own (the outbox relay: runners/workers/outbox.py).
    background: tuple[Callable[[web.Application], AsyncIterator[None]], ...] = ()
    # runners.notifications.wiring.NotificationParts: the service, its live feed (issue 13).
    notifications: Any = None
    links: AccountLinkService | None = None  # email verification and password reset
    webhooks: WebhookAdminService | None = None
    # Readiness checks and scrape hooks the adapters of this process registered (runners/observability).
    observability: Observability = attrs.Factory(Observability)
    recordings: RecordingService | None = None  # None: this process does not serve recordings
    analysis: AnalysisService | None = None  # None: a process that serves no AI routes
    captions: CaptionService | None = None  # None: captions are off on this server (APP_CAPTIONS_ENABLED)
    # Who checks access tokens when it is not this process's users domain (the users service over gRPC
    # when APP_USERS_GRPC_TARGET is set in a process that does not serve the users routes).
    remote_authenticator: Authenticator | None = None

    @property
    def authenticator(self) -> Authenticator:
        """Checks the access tokens of HTTP requests and signaling sockets."""
        return self.remote_authenticator if self.remote_authenticator is not None else self.users


SERVICES = web.AppKey("services", Services)
SETTINGS = web.AppKey("settings", Settings)
REQUEST_ID = web.RequestKey("request_id", str)  # set by the request-id middleware, also on upgrades


def error_response(status: int, code: str, message: str, request_id: str | None,
                   details: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> web.Response:
    """The JSON error body every runner answers with (replies.Error documents it)."""
    body = {"error": {"code": code, "message": message, "details": details or {}, "request_id": request_id,
                      **ids()}}  # trace_id and span_id when tracing is on, to find the trace from a report
    return web.json_response(body, status=status, headers=headers)


def bearer_token(request: web.Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None when there is none."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
