"""Delivery jobs: one message for one recipient on one channel, as the queue carries it."""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

import attrs
from attrs import frozen

from domain.notifications.model import Channel, Kind


@frozen(kw_only=True)
class DeliveryJob:
    """``key`` is the idempotency key: the same notification for the same recipient and channel always
    has the same key (derived from the event or reminder that caused it), so however often the job is
    delivered or enqueued, the channel sends it at most once.  ``origin`` is when the cause happened
    (for the event-to-delivery delay)."""

    key: str
    channel: Channel
    kind: Kind
    user_id: str | None
    address: str | None  # email address or phone; None for push (the user's subscriptions)
    title: str
    text: str
    html: str = ""
    link: str | None = None
    unsubscribe_url: str | None = None
    origin: dt.datetime
    attempts: int = 0

    def to_json(self) -> str:
        d = attrs.asdict(self, recurse=False)
        d.update(channel=self.channel.value, kind=self.kind.value, origin=self.origin.isoformat())
        return json.dumps(d, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> DeliveryJob:
        """Raises ValueError (or KeyError/TypeError) for a body that is not a job."""
        d: dict[str, Any] = json.loads(text)
        d.update(channel=Channel(d["channel"]), kind=Kind(d["kind"]), origin=dt.datetime.fromisoformat(d["origin"]))
        return cls(**d)

    def again(self) -> DeliveryJob:
        return attrs.evolve(self, attempts=self.attempts + 1)


@frozen(kw_only=True)
class RetryPolicy:
    """Exponential backoff with full jitter in [delay/2, delay], capped; dead after ``max_attempts``."""

    max_attempts: int = 6
    base: dt.timedelta = dt.timedelta(seconds=2)
    cap: dt.timedelta = dt.timedelta(minutes=10)

    def delay(self, attempts: int, rng: random.Random) -> dt.timedelta:
        """The wait after the ``attempts``-th failure (1 for the first)."""
        full = min(self.cap.total_seconds(), self.base.total_seconds() * 2 ** max(0, attempts - 1))
        return dt.timedelta(seconds=full * rng.uniform(0.5, 1.0))

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts
