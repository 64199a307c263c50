"""Base of domain events: frozen facts with a name, an id and the time they happened.

Every concrete event class registers itself under its ``name``, so a reader in another process turns
what crossed a wire (name, id, time, JSON payload) back into the same typed event with
``event_from_record``: consumers match on classes, never on name strings and dicts.
"""

from __future__ import annotations

import datetime as dt
import functools
import typing
from collections.abc import Mapping
from typing import Any, ClassVar

import attrs
from attrs import frozen

from domain.shared.ids import new_id

_REGISTRY: dict[str, type[DomainEvent]] = {}


class UnknownEvent(Exception):
    """A record whose name no event class has, or whose payload does not fit its class."""


@frozen(kw_only=True)
class DomainEvent:
    name: ClassVar[str] = "event"
    # Fields that must not outlive delivery (one-time link tokens): stores that keep relayed events
    # keep them ``redacted()``.
    secret_fields: ClassVar[tuple[str, ...]] = ()
    occurred_at: dt.datetime
    event_id: str = attrs.field(factory=new_id)

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        name = cls.__dict__.get("name")
        if isinstance(name, str):
            known = _REGISTRY.get(name)
            # attrs re-creates slotted classes: the rebuilt class takes over its own name.
            if known is not None and known.__qualname__ != cls.__qualname__:
                raise TypeError(f"event name {name!r} is used by {known.__qualname__} already")
            _REGISTRY[name] = cls

    def redacted(self) -> DomainEvent:
        """This event with its secret fields blanked (itself when it has none)."""
        if not self.secret_fields:
            return self
        return attrs.evolve(self, **{name: "" for name in self.secret_fields})

    def payload(self) -> dict[str, Any]:
        """JSON-safe fields, for buses, outboxes and logs."""
        out: dict[str, Any] = {}
        for f in attrs.fields(type(self)):
            if f.name in ("occurred_at", "event_id"):
                continue
            value = getattr(self, f.name)
            if isinstance(value, dt.datetime):
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out


def event_class(name: str) -> type[DomainEvent]:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownEvent(f"no event is named {name!r}") from None


@functools.cache
def _time_fields(cls: type[DomainEvent]) -> frozenset[str]:
    """The fields typed datetime (or datetime | None), from the resolved annotations, not their spelling."""
    hints = typing.get_type_hints(cls)
    return frozenset(f.name for f in attrs.fields(cls) if f.name != "occurred_at" and (
        hints.get(f.name) is dt.datetime or dt.datetime in typing.get_args(hints.get(f.name))))


def event_from_record(name: str, event_id: str, occurred_at: dt.datetime,
                      payload: Mapping[str, Any]) -> DomainEvent:
    """The typed event back from its parts (the inverse of ``name``, ``event_id``, ``occurred_at`` and
    ``payload()``).  Raises UnknownEvent for a name no class has or a payload that does not fit."""
    cls = event_class(name)
    kwargs: dict[str, Any] = {}
    for f in attrs.fields(cls):
        if f.name in ("occurred_at", "event_id") or f.name not in payload:
            continue
        value = payload[f.name]
        if isinstance(value, list):
            value = tuple(value)
        elif isinstance(value, str) and f.name in _time_fields(cls):
            value = dt.datetime.fromisoformat(value)
        kwargs[f.name] = value
    try:
        return cls(occurred_at=occurred_at, event_id=event_id, **kwargs)
    except TypeError as exc:
        raise UnknownEvent(f"payload does not fit {name!r}: {exc}") from None
