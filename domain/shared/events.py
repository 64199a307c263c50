"""Base of domain events: frozen facts with a name, an id and the time they happened."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

import attrs
from attrs import frozen

from domain.shared.ids import new_id


@frozen(kw_only=True)
class DomainEvent:
    name: ClassVar[str] = "event"
    occurred_at: dt.datetime
    event_id: str = attrs.field(factory=new_id)

    def payload(self) -> dict[str, Any]:
        """JSON-safe fields, for buses and logs."""
        out: dict[str, Any] = {}
        for f in attrs.fields(type(self)):
            if f.name in ("occurred_at", "event_id"):
                continue
            value = getattr(self, f.name)
            out[f.name] = value.isoformat() if isinstance(value, dt.datetime) else value
        return out
