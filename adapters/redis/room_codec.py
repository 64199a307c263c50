"""JSON for room members and room events, as the Redis presence and signal bus store and send them.

Events travel as ``{"type": <class name>, ...fields}``; nested values (a Member, a MediaState, an
IceCandidate), enums and times are written out and read back by the field types of the class, so a
decoded event equals the published one.  Written here rather than with cattrs: a dozen flat classes
do not justify a dependency.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import types
import typing
from typing import Any

import attrs

from domain.rooms import events as ev
from domain.rooms.model import IceCandidate, MediaState, Member

_EVENTS: dict[str, type] = {
    cls.__name__: cls for cls in vars(ev).values()
    if isinstance(cls, type) and attrs.has(cls) and (issubclass(cls, ev.RoomEvent) or cls is ev.AccessRevoked)
    and cls is not ev.RoomEvent}
_VALUES = (Member, MediaState, IceCandidate)
_HINTS: dict[type, dict[str, Any]] = {cls: typing.get_type_hints(cls) for cls in (*_EVENTS.values(), *_VALUES)}


def _out(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.utcoffset() is None:
            raise ValueError("times must be timezone-aware")
        return value.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")
    if isinstance(value, enum.Enum):
        return value.value
    if attrs.has(type(value)):
        return {f.name: _out(getattr(value, f.name)) for f in attrs.fields(type(value))}
    return value


def _in(kind: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        kind = next(k for k in typing.get_args(kind) if k is not type(None))
    if kind is dt.datetime:
        return dt.datetime.fromisoformat(value)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind(value)
    if kind in _HINTS:
        return _build(kind, value)
    return value  # str, bool, int and NewType ids (plain str at run time)


def _build(cls: type, data: dict[str, Any]) -> Any:
    hints = _HINTS[cls]
    return cls(**{f.name: _in(hints[f.name], data[f.name]) for f in attrs.fields(cls) if f.name in data})


def member_to_json(m: Member) -> str:
    return json.dumps(_out(m), separators=(",", ":"), ensure_ascii=False)


def member_from_json(text: str) -> Member:
    return _build(Member, json.loads(text))


def event_to_json(event: ev.RoomEvent | ev.AccessRevoked) -> str:
    return json.dumps({"type": type(event).__name__, **_out(event)}, separators=(",", ":"), ensure_ascii=False)


def event_from_json(text: str | bytes) -> ev.RoomEvent | ev.AccessRevoked:
    """Raises ValueError (or KeyError / TypeError) for text that is no known event."""
    data = json.loads(text)
    cls = _EVENTS.get(data.pop("type", None))
    if cls is None:
        raise ValueError("not a room event")
    return _build(cls, data)
