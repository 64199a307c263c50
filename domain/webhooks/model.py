"""Webhooks for integrators: endpoints administrators register per event kind, and the deliveries made
to them.

An endpoint receives, for each event of a kind it asked for, one JSON delivery signed with its secret
(signing.py).  A delivery that fails is retried with exponential backoff and jitter until it succeeds or
runs out of attempts; an endpoint that keeps failing for long enough is disabled (``DisablePolicy``).
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from typing import Any

from attrs import define, evolve, field, frozen

from domain.shared.events import DomainEvent
from domain.webhooks.errors import InvalidWebhookEndpoint

# The kinds integrators subscribe to, and the domain events behind them, matched by class name so that
# events of contexts not written yet (recordings, transcripts) need no import here.
KINDS = ("meeting.started", "meeting.ended", "participant.joined", "participant.left", "recording.ready",
         "transcript.ready")
EVENT_KINDS = {
    "MeetingStarted": "meeting.started",
    "MeetingEnded": "meeting.ended",
    "ParticipantJoined": "participant.joined",
    "ParticipantLeft": "participant.left",
    "RecordingCompleted": "recording.ready",
    "TranscriptCompleted": "transcript.ready",
    "TranscriptReady": "transcript.ready",
}
DESCRIPTION_MAX = 200


def kind_of(event: DomainEvent) -> str | None:
    return EVENT_KINDS.get(type(event).__name__)


def check_kinds(kinds: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown or not kinds:
        raise InvalidWebhookEndpoint(f"event kinds must be some of {', '.join(KINDS)}", field="kinds")
    return tuple(sorted(set(kinds)))


def check_description(description: str) -> str:
    description = description.strip()
    if len(description) > DESCRIPTION_MAX or any(ord(c) < 32 for c in description):
        raise InvalidWebhookEndpoint(f"description must be at most {DESCRIPTION_MAX} printable characters",
                                     field="description")
    return description


@frozen(kw_only=True)
class RetryPolicy:
    """Attempt n (1-based) that failed waits ``base * factor**(n-1)``, capped, then "equal jitter": half of
    it fixed, half random, so endpoints that failed together do not all come back at once."""

    base: dt.timedelta = dt.timedelta(seconds=30)
    factor: float = 2.0
    cap: dt.timedelta = dt.timedelta(hours=6)
    max_attempts: int = 10

    def delay(self, attempt: int, jitter: float) -> dt.timedelta:
        full = min(self.cap, self.base * self.factor ** (attempt - 1))
        return full / 2 + full / 2 * jitter


@frozen(kw_only=True)
class DisablePolicy:
    """An endpoint is disabled when ``failures`` attempts in a row failed and the first of them is at
    least ``window`` old: persistent failure, not a blip."""

    failures: int = 20
    window: dt.timedelta = dt.timedelta(days=1)

    def gives_up(self, consecutive: int, failing_since: dt.datetime, now: dt.datetime) -> bool:
        return consecutive >= self.failures and now - failing_since >= self.window


@define(kw_only=True)
class WebhookEndpoint:
    """An integrator's HTTPS endpoint.

    Invariants: ``kinds`` is a non-empty sorted tuple of KINDS; ``url`` passed the URL rules (urls.py)
    when it was set; ``secret`` signs every delivery and is shown only when it is made; a disabled
    endpoint receives nothing, and enabling it again starts its failure count afresh.
    """

    id: str
    url: str
    kinds: tuple[str, ...]
    secret: str = field(repr=False)
    description: str = ""
    enabled: bool = True
    disabled_reason: str | None = None
    consecutive_failures: int = 0
    failing_since: dt.datetime | None = None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int = 0

    def wants(self, kind: str) -> bool:
        return self.enabled and kind in self.kinds

    def change(self, *, now: dt.datetime, url: str | None = None, kinds: tuple[str, ...] | None = None,
               description: str | None = None, enabled: bool | None = None) -> None:
        if url is not None:
            self.url = url
        if kinds is not None:
            self.kinds = kinds
        if description is not None:
            self.description = description
        if enabled is not None and enabled != self.enabled:
            self.enabled = enabled
            self.disabled_reason = None if enabled else "disabled by an administrator"
            self.consecutive_failures, self.failing_since = 0, None
        self.updated_at = now

    def rotate_secret(self, secret: str, *, now: dt.datetime) -> None:
        self.secret = secret
        self.updated_at = now

    def succeeded(self) -> None:
        self.consecutive_failures, self.failing_since = 0, None

    def failed(self, now: dt.datetime, policy: DisablePolicy) -> bool:
        """Counts a failed attempt; returns True when this one disabled the endpoint."""
        self.consecutive_failures += 1
        self.failing_since = self.failing_since or now
        if self.enabled and policy.gives_up(self.consecutive_failures, self.failing_since, now):
            self.enabled = False
            self.disabled_reason = (f"{self.consecutive_failures} consecutive failed deliveries since "
                                    f"{self.failing_since.isoformat()}")
            self.updated_at = now
            return True
        return False

    def copy(self) -> WebhookEndpoint:
        return evolve(self)


class DeliveryStatus(enum.Enum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up: out of attempts, or the endpoint is gone or disabled


@define(kw_only=True)
class WebhookDelivery:
    """One event for one endpoint.  ``body`` is the exact JSON text sent (and signed) on every attempt;
    ``dedupe_key`` makes the event's delivery to the endpoint happen once however often the event
    arrives (at-least-once event streams)."""

    id: str
    endpoint_id: str
    event_id: str
    kind: str
    body: str
    dedupe_key: str
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    next_attempt_at: dt.datetime
    created_at: dt.datetime
    last_attempt_at: dt.datetime | None = None
    response_status: int | None = None
    last_error: str | None = None
    delivered_at: dt.datetime | None = None
    redelivery_of: str | None = None

    @classmethod
    def for_event(cls, endpoint_id: str, event: DomainEvent, kind: str, *, delivery_id: str,
                  now: dt.datetime) -> WebhookDelivery:
        return cls(id=delivery_id, endpoint_id=endpoint_id, event_id=event.event_id, kind=kind,
                   body=body_of(event, kind), dedupe_key=f"{endpoint_id}:{event.event_id}",
                   next_attempt_at=now, created_at=now)

    def again(self, *, delivery_id: str, now: dt.datetime) -> WebhookDelivery:
        """A new delivery of the same body (an administrator's redelivery)."""
        return WebhookDelivery(id=delivery_id, endpoint_id=self.endpoint_id, event_id=self.event_id,
                               kind=self.kind, body=self.body, dedupe_key=f"{self.endpoint_id}:{delivery_id}",
                               next_attempt_at=now, created_at=now, redelivery_of=self.id)

    def succeeded(self, *, now: dt.datetime, status: int) -> None:
        self.attempts += 1
        self.status, self.last_attempt_at, self.delivered_at = DeliveryStatus.DELIVERED, now, now
        self.response_status, self.last_error = status, None

    def failed(self, *, now: dt.datetime, status: int | None, error: str, policy: RetryPolicy,
               jitter: float) -> None:
        self.attempts += 1
        self.last_attempt_at, self.response_status, self.last_error = now, status, error[:500]
        if self.attempts >= policy.max_attempts:
            self.status = DeliveryStatus.FAILED
        else:
            self.next_attempt_at = now + policy.delay(self.attempts, jitter)

    def abandon(self, *, now: dt.datetime, reason: str) -> None:
        self.status, self.last_attempt_at, self.last_error = DeliveryStatus.FAILED, now, reason

    def copy(self) -> WebhookDelivery:
        return evolve(self)


def body_of(event: DomainEvent, kind: str) -> str:
    document: dict[str, Any] = {"id": event.event_id, "type": kind, "occurred_at": event.occurred_at.isoformat(),
                                "data": event.redacted().payload()}
    return json.dumps(document, separators=(",", ":"), sort_keys=True)
